/**
 * The quick-start demo: a simulated annotator labels SpamAssassin e-mails through Label Loop's
 * real HTTP API, exactly as Label Studio would send them: the label config through /setup,
 * the e-mails as TASKS_CREATED and every label as ANNOTATION_CREATED on /webhook, always
 * taking the next task from the sampling endpoint (the project's strategy, margin by default, with
 * the random audit share interleaved). At the end the served champion is scored on every e-mail
 * nobody labelled, against the data set's own labels.
 */
import type { Client } from '@temporalio/client';
import cliProgress from 'cli-progress';
import type { Db } from '../store/db.js';
import type { Config } from '../worker/config.js';
import { loadSpamAssassin } from '../model/spamAssassin.js';
import { loopStatusQuery, loopWorkflowId, type LoopStatus } from '../contract/index.js';
import type { ModelRow } from '../store/models.js';
import { roundOfVersion, tallyRun, type DecidedRound } from './tally.js';

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
  /** The served champion's accuracy on the e-mails nobody labelled (the data set's own labels). */
  finalAccuracy: number;
  /** How many e-mails that is. */
  finalUnlabelled: number;
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

  const handle = opts.client.workflow.getHandle(loopWorkflowId(projectId));
  const status = async (): Promise<LoopStatus | null> => handle.query(loopStatusQuery).catch(() => null);
  // A second run continues the first one's loop: this run's rounds are numbered above this.
  const roundsAtStart = (await status())?.roundsStarted ?? 0;

  say(`demo: project ${projectId}: ${emails.length} e-mails as tasks, the annotator labels ${target} in the order Label Loop serves them`);
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

  const reported = new Set<number>();
  const decided: DecidedRound[] = [];
  const failedReported = new Set<number>();
  let last = null as LoopStatus | null;

  // Every decided model is one round; reading them from the API misses none, however fast
  // rounds follow each other.
  const report = async () => {
    const { models } = await get(`/api/projects/${projectId}/models`);
    for (const m of models as ModelRow[]) {
      const round = roundOfVersion(m.version);
      // Rounds of an earlier run were told then.
      if (round === null || round <= roundsAtStart || m.promoted === null || !m.metrics || reported.has(round)) continue;
      reported.add(round);
      decided.push({ round, promoted: m.promoted });
      const e = m.estimate;
      const quality = e && e.n > 0
        ? `accuracy ${e.accuracy.value.toFixed(3)} [${e.accuracy.low.toFixed(3)}, ${e.accuracy.high.toFixed(3)}] cross-validated on ${e.n} ${e.source === 'audit' ? 'audit e-mails' : 'labels'}`
        : `too few labels to estimate`;
      const gate = m.evidence && typeof m.evidence.delta === 'number' ? `; ${m.evidence.metric} ${m.evidence.delta >= 0 ? '+' : ''}${m.evidence.delta.toFixed(3)} vs ${m.evidence.incumbent}` : '';
      say(`round ${round}: ${m.version}: ${quality}${gate} → ${m.promoted ? 'PROMOTED' : 'kept the champion'}`);
    }
  };
  // Labelling progress on a terminal (cli-progress); lines from say() print above it.
  const progress = tty
    ? new cliProgress.SingleBar(
        {
          stream: out,
          format: '[{bar}] {value}/{total} labelled · {phase} · {champion}',
          barsize: 30,
          hideCursor: false,
          // Cut the line to the terminal's width rather than switch its line wrapping off: a Ctrl-C
          // mid-bar then leaves the terminal as it was.
          linewrap: true,
          clearOnComplete: true,
          // say() clears the bar's line: redraw it even when nothing changed.
          forceRedraw: true,
        },
        cliProgress.Presets.legacy,
      )
    : null;
  progress?.start(target, labelled, { phase: 'starting', champion: 'no model yet' });
  const bar = (phase: string) => {
    progress?.update(labelled, { phase, champion: last?.championVersion ? `champion ${last.championVersion}` : 'no model yet' });
  };
  const poll = async () => {
    last = (await status()) ?? last;
    await report();
    if (last?.lastError && last.roundsStarted > roundsAtStart && !failedReported.has(last.roundsStarted)) {
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
  progress?.stop();
  const final = last!.lastRound!;
  const tally = tallyRun(roundsAtStart, last!.roundsStarted, decided);
  // What annotators get: the served champion's answers on every e-mail nobody labelled, scored
  // against the data set's own labels (which the loop never saw).
  const labelledIds = new Set<number>(
    (await opts.db.query('SELECT DISTINCT task_id FROM annotations WHERE project_id = $1 AND NOT deleted AND NOT was_cancelled', [projectId])).rows.map((r) => Number(r.task_id)),
  );
  const unlabelled = emails.map((e, i) => ({ id: TASK_ID_BASE + i, data: { email: e.text } })).filter((t) => !labelledIds.has(t.id));
  let right = 0;
  for (let i = 0; i < unlabelled.length; i += 1_000) {
    const chunk = unlabelled.slice(i, i + 1_000);
    const { results } = await post('/predict', { tasks: chunk.map((t) => ({ data: t.data })), project: String(projectId) });
    chunk.forEach((t, j) => {
      if (results[j]?.result?.[0]?.value?.choices?.[0] === truth.get(t.id)) right++;
    });
  }
  const finalAccuracy = unlabelled.length ? right / unlabelled.length : 0;
  say(
    `demo: the served champion ${last!.championVersion} is right on ${finalAccuracy.toFixed(4)} of the ${unlabelled.length} e-mails nobody labelled ` +
      `(trained on all ${final.trainCount} labels; its round's estimate: accuracy ${final.candidateMetrics.accuracy.toFixed(4)} cross-validated on ${final.candidateMetrics.n} audit e-mails) ` +
      `· ${tally.rounds} rounds, ${tally.promotions} promotions this run`,
  );
  if (opts.temporalUiUrl) {
    say(`demo: see the loop at ${opts.temporalUiUrl}/namespaces/${opts.config.temporal.namespace}/workflows/${loopWorkflowId(projectId)}`);
  }
  return {
    projectId,
    labelled,
    rounds: tally.rounds,
    promotions: tally.promotions,
    championVersion: last!.championVersion,
    finalAccuracy,
    finalUnlabelled: unlabelled.length,
  };
}

function authHeaders(config: Config, path: string): Record<string, string> {
  if (path === '/webhook') {
    return config.security.webhookSecret ? { [config.security.webhookSecretHeader]: config.security.webhookSecret } : {};
  }
  const b = config.security.basicAuth;
  return b ? { authorization: `Basic ${Buffer.from(`${b.user}:${b.password}`).toString('base64')}` } : {};
}
