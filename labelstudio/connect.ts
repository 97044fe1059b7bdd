/**
 * Connects a running Label Loop to a Label Studio project the way Label Studio's documentation
 * does it by hand (`label-loop connect`), returning a line per step.
 */
import { LabelStudioClient } from './client.js';
import { isLabelConfigError, parseLabelConfig } from './labelConfig.js';
import { ensureLeastConfidentView, preferUncertaintySampling } from './dataManager.js';

/** The project cannot be connected as it is (its label config); the message says why. */
export class ConnectError extends Error {
  override name = 'ConnectError';
}

/** How Label Loop's API is protected, so Label Studio's calls carry the right credentials. */
export interface BackendSecurity {
  basicAuth?: { user: string; password: string };
  webhookSecret?: string;
  webhookSecretHeader: string;
}

export interface ConnectResult {
  mlBackendId: number;
  webhookId: number;
  viewId: number;
  uncertaintySampling: boolean;
  lines: string[];
}

export async function connectProject(
  security: BackendSecurity,
  opts: { projectId: number; backendUrl: string; labelStudioUrl: string; apiKey: string; title?: string },
): Promise<ConnectResult> {
  const lines: string[] = [];
  const say = (l: string) => lines.push(l);
  // No Temporal here to retry for us: a few attempts ride out a Label Studio restart.
  const ls = new LabelStudioClient({ url: opts.labelStudioUrl, apiKey: opts.apiKey, attempts: 3 });
  const backendUrl = opts.backendUrl.replace(/\/+$/, '');

  const project = await ls.getProject(opts.projectId);
  try {
    const task = parseLabelConfig(project.label_config);
    say(`project ${project.id} "${project.title}": ${task.multiLabel ? 'multi-label' : 'single-label'} classification of $${task.textField} into ${task.labels.join(', ')}`);
  } catch (err) {
    if (isLabelConfigError(err)) throw new ConnectError(`project ${project.id} cannot be trained by Label Loop: ${(err as Error).message}`);
    throw err;
  }

  // 1. ML backend: Label Studio validates it by calling our /health and /setup right away.
  const auth = security.basicAuth;
  const backendBody = {
    project: opts.projectId,
    url: backendUrl,
    title: opts.title ?? 'Label Loop',
    is_interactive: false,
    auth_method: auth ? 'BASIC_AUTH' : 'NONE',
    ...(auth ? { basic_auth_user: auth.user, basic_auth_pass: auth.password } : {}),
  };
  const backends = await ls.listMlBackends(opts.projectId);
  const mine = backends.find((b) => b.url.replace(/\/+$/, '') === backendUrl);
  const backend = mine ? await ls.updateMlBackend(mine.id, backendBody) : await ls.createMlBackend(backendBody);
  say(`ML backend ${backend.id} ${mine ? 'updated' : 'added'}: ${backendUrl} (${auth ? 'HTTP Basic auth' : 'no auth'})`);

  // 2. The webhook Label Studio created for the backend carries no auth: add the secret header
  // to it rather than adding a second webhook (events would arrive twice).
  const webhookUrl = `${backendUrl}/webhook`;
  const hooks = (await ls.listWebhooks(opts.projectId)).filter((h) => h.url.replace(/\/+$/, '') === webhookUrl);
  const headers = security.webhookSecret ? { [security.webhookSecretHeader]: security.webhookSecret } : {};
  let webhookId: number;
  if (hooks.length > 0) {
    webhookId = hooks[0].id;
    await ls.patchWebhook(webhookId, { headers: { ...hooks[0].headers, ...headers }, is_active: true, send_payload: true, send_for_all_actions: true });
    say(`webhook ${webhookId} → ${webhookUrl}: ${security.webhookSecret ? `secret header ${security.webhookSecretHeader} set` : 'no secret configured'}`);
    if (hooks.length > 1) say(`warning: ${hooks.length} webhooks point at ${webhookUrl}; events will arrive ${hooks.length} times (deduplicated, but delete the extras)`);
  } else {
    webhookId = (await ls.createWebhook({ project: opts.projectId, url: webhookUrl, send_payload: true, send_for_all_actions: true, headers, is_active: true })).id;
    say(`webhook ${webhookId} → ${webhookUrl} created`);
  }

  // 3. The Data Manager tab and, where Label Studio accepts it, uncertainty sampling.
  const view = await ensureLeastConfidentView(ls, opts.projectId);
  say(`Data Manager tab ${view.id} "Label Loop: least confident first" ${view.created ? 'created' : 'already there'}`);
  const uncertaintySampling = await preferUncertaintySampling(ls, opts.projectId);
  say(
    uncertaintySampling
      ? 'project sampling set to "Uncertainty sampling": Label Studio serves the least confident task next'
      : 'Label Studio refused uncertainty sampling: use the Data Manager tab and "Label All Tasks" in its order',
  );
  return { mlBackendId: backend.id, webhookId, viewId: view.id, uncertaintySampling, lines };
}
