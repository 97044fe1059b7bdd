/**
 * The quick-start demo: a simulated annotator labels SpamAssassin e-mails through Label Loop's
 * real HTTP API, exactly as Label Studio would send them: the label config through /setup,
 * the e-mails as TASKS_CREATED and every label as ANNOTATION_CREATED on /webhook, always
 * taking the next task from the sampling endpoint (least certain first).
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../store/db.js';
import type { Config } from '../worker/config.js';
import { loadSpamAssassin } from '../model/spamAssassin.js';
import { loopStatusQuery, loopWorkflowId, type LoopStatus } from '../workflows/definitions.js';
import type { ModelRow } from '../store/models.js';

export const DEMO_CONFIG = `<View>
  <Header value="Is this e-mail spam?"/>
  <Text name="email" value="$email"/>
  <Choices name="verdict" toName="email" choice="single" showInline="true">
    <Choice value="spam"/>
    <Choice value="ham"/>
  </Choices>
</View>`;

export interface DemoOptions {
  apiUrl: string;
  db: Db;
  client: Client;
  config: Config;
  temporalUiUrl?: string;
  projectId?: number;
  /** How many e-mails become tasks (default: all 6,046). */
  tasks?: number;
  /** How many the annotator labels in all (default 1,500). */
  labels?: number;
  /** Pause after each label, like a person reading (ms). */
  paceMs?: number;
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export interface DemoSummary {
  projectId: number;
  labelled: number;
  rounds: number;
  promotions: number;
  championVersion: string | null;
  finalAccuracy: number;
  finalHeldOut: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function seededShuffle<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const out = opts.out ?? process.stdout;
  const tty = out.isTTY === true;
  const say = (line: string) => out.write(`${tty ? '\r\x1b[2K' : ''}${line}\n`);
  const projectId = opts.projectId ?? 1;
  const emails = seededShuffle(loadSpamAssassin(), 2024).slice(0, opts.tasks ?? Infinity);
  const target = Math.min(opts.labels ?? 1_500, emails.length);
  const paceMs = opts.paceMs ?? 5;
  // Task and annotation ids are stable, so a second run continues where the first stopped.
  const TASK_ID_BASE = 100_000;
  const truth = new Map(emails.map((e, i) => [TASK_ID_BASE + i, e.label]));

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${opts.apiUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(opts.config, path) },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`POST ${path} → ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  const get = async (path: string) => {
    const res = await fetch(`${opts.apiUrl}${path}`, { headers: authHeaders(opts.config, path) });
    if (!res.ok) throw new Error(`GET ${path} → ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  const project = { id: projectId, title: 'SpamAssassin demo', label_config: DEMO_CONFIG };

  say(`demo: project ${projectId}: ${emails.length} e-mails as tasks, the annotator labels ${target}, least certain first`);
  await post('/setup', { project: `${projectId}.${Math.floor(Date.now() / 1000)}`, schema: DEMO_CONFIG, hostname: 'http://label-studio.demo' });
  for (let i = 0; i < emails.length; i += 500) {
    const tasks = emails.slice(i, i + 500).map((e, j) => ({ id: TASK_ID_BASE + i + j, data: { email: e.text }, meta: {}, project: projectId }));
    await post('/webhook', { action: 'TASKS_CREATED', tasks, project });
  }

  const { rows } = await opts.db.query(
    'SELECT count(DISTINCT task_id)::int AS n FROM annotations WHERE project_id = $1 AND NOT deleted AND NOT was_cancelled',
    [projectId],
  );
  let labelled: number = rows[0].n;
  if (labelled > 0) say(`demo: ${labelled} e-mails were labelled in an earlier run; continuing`);

  const handle = opts.client.workflow.getHandle(loopWorkflowId(projectId));
  const status = async (): Promise<LoopStatus | null> => handle.query(loopStatusQuery).catch(() => null);
  const reported = new Set<number>();
  const failedReported = new Set<number>();
  let promotions = 0;
  let last = null as LoopStatus | null;

  // Every decided model is one round; reading them from the API misses none, however fast
  // rounds follow each other.
  const report = async () => {
    const { models } = await get(`/api/projects/${projectId}/models`);
    for (const m of models as ModelRow[]) {
      const round = Number(/^r(\d+)-/.exec(m.version)?.[1]);
      if (m.promoted === null || !m.metrics || reported.has(round)) continue;
      reported.add(round);
      if (m.promoted) promotions++;
      const vs = m.championMetrics ? ` vs champion ${m.championMetrics.accuracy.toFixed(3)}` : ` vs majority baseline ${m.baselineMetrics?.accuracy.toFixed(3)}`;
      say(
        `round ${round}: ${m.version} on ${m.metrics.n} held-out e-mails: accuracy ${m.metrics.accuracy.toFixed(3)} ` +
          `macro-F1 ${m.metrics.macroF1.toFixed(3)}${vs} → ${m.promoted ? 'PROMOTED' : 'kept the champion'}`,
      );
    }
  };
  const bar = (phase: string) => {
    if (!tty) return;
    const width = 30;
    const filled = Math.round((labelled / target) * width);
    const champ = last?.championVersion ? `champion ${last.championVersion}` : 'no model yet';
    out.write(`\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${labelled}/${target} labelled · ${phase} · ${champ}`);
  };
  const poll = async () => {
    last = (await status()) ?? last;
    await report();
    if (last?.lastError && !failedReported.has(last.roundsStarted)) {
      failedReported.add(last.roundsStarted);
      say(`round ${last.roundsStarted}: ${last.lastError}`);
    }
  };
  const waitIdle = async () => {
    for (;;) {
      await poll();
      if (last && last.currentRound === null && last.nextRoundAt === null && !last.trainingRequested) return;
      bar(last?.currentRound ? `round ${last.currentRound} training` : 'waiting for the quiet period');
      await sleep(250);
    }
  };

  // A team labels in sessions of growing size and pauses while the model retrains, so each
  // session starts from fresh uncertainty scores.
  let session = 25;
  while (labelled < target) {
    const sessionEnd = Math.min(labelled + session, target);
    while (labelled < sessionEnd) {
      const next = await get(`/api/projects/${projectId}/next-tasks?limit=1`);
      const task = next.tasks[0];
      if (!task) break;
      const label = truth.get(task.taskId)!;
      const now = new Date().toISOString();
      await post('/webhook', {
        action: 'ANNOTATION_CREATED',
        annotation: {
          id: task.taskId,
          result: [{ id: `demo-${task.taskId}`, type: 'choices', from_name: 'verdict', to_name: 'email', origin: 'manual', value: { choices: [label] } }],
          was_cancelled: false,
          created_at: now,
          updated_at: now,
          task: task.taskId,
          project: projectId,
          completed_by: 1,
        },
        task: { id: task.taskId, data: task.data, project: projectId },
        project,
      });
      labelled++;
      if (labelled % 5 === 0) bar(`labelling (next task ${task.leastConfidence === null ? 'unscored' : `uncertainty ${task.leastConfidence.toFixed(3)}`})`);
      if (paceMs > 0) await sleep(paceMs);
    }
    await waitIdle();
    session *= 2;
  }

  say(`demo: ${labelled} labels in; a final round trains on all of them (START_TRAINING)`);
  const before = last?.roundsStarted ?? 0;
  await post('/webhook', { action: 'START_TRAINING', project });
  for (;;) {
    await poll();
    if (last && last.roundsStarted > before && last.currentRound === null) break;
    bar(last?.currentRound ? `final round ${last.currentRound} training` : 'final round requested');
    await sleep(250);
  }
  await report();
  const final = last!.lastRound!;
  const trainedOnAll = final.candidateMetrics;
  say(
    `demo: final held-out accuracy ${trainedOnAll.accuracy.toFixed(4)} (macro-F1 ${trainedOnAll.macroF1.toFixed(4)}) of ${final.modelVersion}, ` +
      `trained on all ${final.trainCount} training labels and scored on ${trainedOnAll.n} held-out e-mails; ` +
      (final.promoted
        ? 'it is the new champion'
        : `champion ${last!.championVersion} (${final.championMetrics?.accuracy.toFixed(4)} on the same e-mails) stays`) +
      ` · ${last!.roundsStarted} rounds, ${promotions} promotions this run`,
  );
  if (opts.temporalUiUrl) {
    say(`demo: see the loop at ${opts.temporalUiUrl}/namespaces/${opts.config.temporal.namespace}/workflows/${loopWorkflowId(projectId)}`);
  }
  return {
    projectId,
    labelled,
    rounds: last!.roundsStarted,
    promotions,
    championVersion: last!.championVersion,
    finalAccuracy: trainedOnAll.accuracy,
    finalHeldOut: trainedOnAll.n,
  };
}

function authHeaders(config: Config, path: string): Record<string, string> {
  if (path === '/webhook') {
    return config.security.webhookSecret ? { [config.security.webhookSecretHeader]: config.security.webhookSecret } : {};
  }
  const b = config.security.basicAuth;
  return b ? { authorization: `Basic ${Buffer.from(`${b.user}:${b.password}`).toString('base64')}` } : {};
}
