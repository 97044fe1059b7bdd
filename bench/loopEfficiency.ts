/**
 * Label efficiency through the real loop: the learning curves of bench/labelEfficiency.ts, but
 * every label goes through Label Loop as Label Studio would send it, so the audit split, the
 * debounced rounds, the promotion gate and the served model are measured too.
 *
 *   npx tsx bench/loopEfficiency.ts [--smoke] [--seeds 3] [--first-seed 1] [--datasets spam,brown]
 *     [--strategies margin,random] [--budget 500] [--checkpoints 50,100,150,200,300,400,500]
 *     [--out bench/results] [--pg-port N] [--temporal-port N] [--api-port N] [--data-dir DIR]
 *
 * One API and one worker process (`label-loop api` / `worker`) on PostgreSQL and Temporal
 * (embedded / dev server, or DATABASE_URL / TEMPORAL_ADDRESS when set). For each seed × data set ×
 * strategy, a fresh project: the data set is shuffled with the seed, a hidden test set (never
 * imported) is cut off and the rest (up to --pool items) becomes the project's tasks (/setup,
 * TASKS_CREATED). A simulated annotator then labels, one task at a time, whatever
 * `GET /api/projects/:id/next-tasks?limit=1&strategy=…` serves (the strategy's queue with the
 * random audit share interleaved), in sessions that end at the checkpoints; between sessions
 * it waits for the debounced round on exactly the labels so far to end. At each checkpoint:
 *  - served: the champion's answers on the hidden test set through POST /predict;
 *  - offline: the same classifier (the round's stored training options, the IDF fitted on the
 *    same task pool as activities/training.ts does) trained in this process on exactly the
 *    labels given so far, scored on the same hidden set;
 *  - the round's own estimate (GET /api/projects/:id/learning-curve).
 * After each run, every gate decision (GET /api/projects/:id/models) is scored on the hidden set:
 * candidate and the then-champion (weights from the store), so a rejection of a model that was
 * truly better, or a promotion of one truly worse, by more than the gate's interval is counted.
 *
 * Writes <out>/loop-points.{json,csv}, loop-gate.{json,csv}, loop-summary.json and (unless
 * --smoke, when Python with matplotlib is there) loop-curves.png. --smoke: a tiny pool, one seed,
 * two checkpoints, seconds; bench/smoke.ts runs it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getChampionVersion, loadWeights } from '../store/index.js';
import type { Db } from '../store/db.js';
import type { ModelRow } from '../store/models.js';
import { Classifier, countFeatures, defaultSpec, fitIdfOn, trainClassifier, type TrainOptions } from '../model/classifier.js';
import { deriveSeed, mulberry32, shuffleInPlace } from '../model/random.js';
import { parseLabelConfig, taskText, type ClassificationTask } from '../labelstudio/labelConfig.js';
import { poolTextsOf } from '../activities/evaluation.js';
import { DATASET_NAMES, loadDataset, type DatasetName, type LabelledText } from './datasets/index.js';
import { pythonAvailable, pythonPath } from './sklearn.js';
import { benchPort, benchStack, machine, processEnv, sleep, spawnTs, stopChild, waitForHttp } from './lib/common.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    seeds: { type: 'string', default: '3' },
    'first-seed': { type: 'string', default: '1' },
    datasets: { type: 'string', default: DATASET_NAMES.join(',') },
    strategies: { type: 'string', default: 'margin,random' },
    budget: { type: 'string', default: '500' },
    checkpoints: { type: 'string', default: '50,100,150,200,300,400,500' },
    pool: { type: 'string', default: '5000' },
    test: { type: 'string', default: '1000' },
    'quiet-ms': { type: 'string', default: '500' },
    out: { type: 'string' },
    'pg-port': { type: 'string' },
    'temporal-port': { type: 'string' },
    'api-port': { type: 'string' },
    'data-dir': { type: 'string' },
    'report-only': { type: 'boolean', default: false },
  },
});
const SMOKE = values.smoke;
const SEEDS = SMOKE ? 1 : Number(values.seeds);
/** Seeds run are first-seed … first-seed + seeds − 1 (more seeds for some strategies in a second invocation). */
const FIRST_SEED = Number(values['first-seed']);
const DATASETS = (SMOKE ? 'spam' : values.datasets).split(',') as DatasetName[];
const STRATEGIES = (SMOKE ? 'margin' : values.strategies).split(',');
const BUDGET = SMOKE ? 40 : Number(values.budget);
const CHECKPOINTS = (SMOKE ? [20, 40] : values.checkpoints.split(',').map(Number)).filter((c) => c <= BUDGET);
const POOL = SMOKE ? 300 : Number(values.pool);
const TEST = SMOKE ? 200 : Number(values.test);
const QUIET_MS = Number(values['quiet-ms']);
const OUT = values.out ?? (SMOKE ? mkdtempSync(path.join(os.tmpdir(), 'label-loop-loopbench-')) : path.join(HERE, 'results'));
/** Hidden-test /predict requests carry at most this many tasks. */
const PREDICT_CHUNK = 1_000;
/** A round on the labels so far must end within this long (ms). */
const ROUND_TIMEOUT_MS = 10 * 60_000;

const labelConfig = (labels: readonly string[]) =>
  `<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">${labels.map((l) => `<Choice value="${l}"/>`).join('')}</Choices></View>`;

// ---------------------------------------------------------------------------------------------
// Statistics.

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Mean and a t-based 95 % interval over seeds. */
function meanInterval(xs: readonly number[]): { mean: number; low: number; high: number; n: number } {
  const m = mean(xs);
  if (xs.length < 2) return { mean: m, low: m, high: m, n: xs.length };
  const sd = Math.sqrt(xs.reduce((a, v) => a + (v - m) ** 2, 0) / (xs.length - 1));
  const t = [0, 12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262][xs.length - 1] ?? 1.96;
  const half = (t * sd) / Math.sqrt(xs.length);
  return { mean: m, low: m - half, high: m + half, n: xs.length };
}

/** Accuracy and macro-F1 (over the classes of the truth) of predicted labels. */
function score(truth: readonly string[], predicted: readonly (string | undefined)[]): { accuracy: number; macroF1: number } {
  let right = 0;
  const tp = new Map<string, number>();
  const fp = new Map<string, number>();
  const fn = new Map<string, number>();
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  truth.forEach((t, i) => {
    const p = predicted[i];
    if (p === t) {
      right++;
      add(tp, t);
    } else {
      if (p !== undefined) add(fp, p);
      add(fn, t);
    }
  });
  const classes = [...new Set(truth)];
  const f1 = classes.map((c) => {
    const d = 2 * (tp.get(c) ?? 0) + (fp.get(c) ?? 0) + (fn.get(c) ?? 0);
    return d > 0 ? (2 * (tp.get(c) ?? 0)) / d : 0;
  });
  return { accuracy: truth.length ? right / truth.length : 0, macroF1: mean(f1) };
}

/** Labels at which the mean curve first reaches `target` (linear interpolation), or null. */
function labelsToReach(curve: readonly { labels: number; value: number }[], target: number): number | null {
  const c = [...curve].sort((a, b) => a.labels - b.labels);
  for (let i = 0; i < c.length; i++) {
    if (c[i].value >= target) {
      if (i === 0) return c[0].labels;
      const a = c[i - 1];
      const b = c[i];
      return Math.round(a.labels + ((target - a.value) / (b.value - a.value)) * (b.labels - a.labels));
    }
  }
  return null;
}

function toCsv(rows: object[]): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]);
  return [keys.join(','), ...rows.map((r) => keys.map((k) => JSON.stringify((r as Record<string, unknown>)[k] ?? '')).join(','))].join('\n') + '\n';
}

function save(name: string, rows: object[]): void {
  writeFileSync(path.join(OUT, `${name}.json`), JSON.stringify(rows, null, 1));
  writeFileSync(path.join(OUT, `${name}.csv`), toCsv(rows));
}

// ---------------------------------------------------------------------------------------------
// Records.

/** One checkpoint of one run. Accuracies and macro-F1 on the run's hidden test set. */
export interface LoopPoint {
  dataset: string;
  strategy: string;
  seed: number;
  labels: number;
  /** Labels of tasks the loop served from its audit stream. */
  auditLabels: number;
  championVersion: string | null;
  servedAccuracy: number;
  servedMacroF1: number;
  offlineAccuracy: number;
  offlineMacroF1: number;
  /** The model the round on exactly these labels trained (promoted or not). */
  candidateVersion: string | null;
  candidatePromoted: boolean | null;
  candidateAccuracy: number | null;
  /** The round's own estimate (learning-curve point) and its interval and source. */
  estimateAccuracy: number | null;
  estimateLow: number | null;
  estimateHigh: number | null;
  estimateN: number | null;
  estimateSource: string | null;
  roundsSoFar: number;
  seconds: number;
}

/** One gate decision, scored on the hidden test set. */
export interface GateDecision {
  dataset: string;
  strategy: string;
  seed: number;
  version: string;
  trainCount: number | null;
  incumbent: string;
  promoted: boolean;
  rule: string;
  metric: string;
  n: number;
  delta: number;
  low: number;
  high: number;
  pValue: number;
  /** candidate − incumbent on the hidden test set, in the gate's metric. */
  trueDelta: number;
  trueAccuracyDelta: number;
  /** Rejected though truly better by more than the interval's half-width / its whole width / 1 point. */
  wrongRejectHalf: boolean;
  wrongRejectWidth: boolean;
  wrongReject1pt: boolean;
  /** Promoted though truly worse by more than the interval's half-width / 1 point. */
  wrongPromoteHalf: boolean;
  wrongPromote1pt: boolean;
}


const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
/** The API under test and its database (set once the stack is up; --report-only starts none). */
let url = '';
// eslint-disable-next-line prefer-const -- assigned below the functions that read it, once the stack is up
let db: Db;

async function post(p: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${p} → ${res.status} ${(await res.text()).slice(0, 500)}`);
  return res.json();
}
async function get(p: string): Promise<any> {
  const res = await fetch(`${url}${p}`);
  if (!res.ok) throw new Error(`GET ${p} → ${res.status} ${(await res.text()).slice(0, 500)}`);
  return res.json();
}

/** Hidden-test answers of a stored model (the classifier the API would serve for that version). */
async function modelAnswers(projectId: number, version: string, texts: string[], cache: Map<string, string[]>): Promise<string[]> {
  const hit = cache.get(version);
  if (hit) return hit;
  const clf = Classifier.deserialize(await loadWeights(db, projectId, version));
  try {
    const answers = argmaxLabels(clf, texts);
    cache.set(version, answers);
    return answers;
  } finally {
    clf.dispose();
  }
}

function argmaxLabels(clf: Classifier, texts: string[]): string[] {
  const labels = clf.spec.labels;
  return clf.predictProba(texts).map((row) => {
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
    return labels[best];
  });
}

interface RoundInfo {
  round: number;
  trainCount: number | null;
  outcome: string;
  modelVersion: string | null;
}

async function roundsOf(projectId: number): Promise<RoundInfo[]> {
  const { rows } = await db.query(
    `SELECT round, train_count, outcome, model_version FROM rounds WHERE project_id = $1 AND finished_at IS NOT NULL ORDER BY round`,
    [projectId],
  );
  return rows.map((r) => ({ round: r.round, trainCount: r.train_count, outcome: r.outcome, modelVersion: r.model_version }));
}

/** Waits until the loop is idle and a round on exactly `labels` labels has ended; returns it (null on timeout). */
async function roundOn(projectId: number, labels: number): Promise<RoundInfo | null> {
  const deadline = Date.now() + ROUND_TIMEOUT_MS;
  for (;;) {
    const status = await get(`/api/projects/${projectId}/status`).catch(() => null);
    const idle = status && status.currentRound === null && status.nextRoundAt === null && !status.trainingRequested && status.pendingAnnotations === 0;
    if (idle) {
      const rounds = await roundsOf(projectId);
      const done = rounds.filter((r) => r.trainCount === labels).pop();
      if (done) return done;
    }
    if (Date.now() > deadline) return null;
    await sleep(200);
  }
}

async function runOne(dataset: DatasetName, datasetIndex: number, strategy: string, seed: number, projectId: number): Promise<{ points: LoopPoint[]; gate: GateDecision[] }> {
  const started = performance.now();
  const d = loadDataset(dataset);
  // The same split for every strategy of a seed: the strategies are compared on the same pool and hidden set.
  const items: LabelledText[] = [...d.items];
  shuffleInPlace(items, mulberry32(deriveSeed(seed, datasetIndex, 0x100b)));
  const hidden = items.slice(0, Math.min(TEST, Math.floor(items.length / 4)));
  const pool = items.slice(hidden.length, hidden.length + POOL);
  const config = labelConfig(d.labels);
  const task: ClassificationTask = parseLabelConfig(config);
  const spec = defaultSpec(task.labels, task.multiLabel);
  const firstTask = projectId * 100_000;
  const project = { id: projectId, title: `loop efficiency ${dataset} ${strategy} ${seed}`, label_config: config };
  await post('/setup', { project: `${projectId}.1`, schema: config });
  for (let i = 0; i < pool.length; i += 500) {
    const tasks = pool.slice(i, i + 500).map((item, j) => ({ id: firstTask + i + j, data: { text: item.text }, meta: {}, project: projectId }));
    await post('/webhook', { action: 'TASKS_CREATED', tasks, project });
  }
  const hiddenTexts = hidden.map((h) => h.text);
  const hiddenTruth = hidden.map((h) => h.label);
  // The IDF the loop fits (activities/training.ts): a fixed sample of the project's task texts,
  // read once the first round has ended (the import is committed through the outbox by then).
  let idf: ReturnType<typeof fitIdfOn> | null = null;

  const labelled: number[] = [];
  let audit = 0;
  const points: LoopPoint[] = [];
  const answers = new Map<string, string[]>();
  for (const checkpoint of CHECKPOINTS) {
    while (labelled.length < checkpoint) {
      const next = await get(`/api/projects/${projectId}/next-tasks?limit=1&strategy=${strategy}`);
      const t = next.tasks[0];
      if (!t) throw new Error(`project ${projectId}: no task left after ${labelled.length} labels`);
      const index = t.taskId - firstTask;
      labelled.push(index);
      if (t.audit) audit++;
      const now = new Date().toISOString();
      await post('/webhook', {
        action: 'ANNOTATION_CREATED',
        annotation: {
          id: t.taskId,
          task: t.taskId,
          result: [{ id: `lb-${t.taskId}`, from_name: 'label', to_name: 'text', type: 'choices', origin: 'manual', value: { choices: [pool[index].label] } }],
          was_cancelled: false,
          created_at: now,
          updated_at: now,
          completed_by: 1,
        },
        task: { id: t.taskId, data: t.data, project: projectId },
        project,
      });
    }
    const round = await roundOn(projectId, checkpoint);
    if (!round) log(`  ${dataset} ${strategy} seed ${seed}: no round on ${checkpoint} labels ended within ${ROUND_TIMEOUT_MS / 1000} s`);

    // Served: the champion through the API, as Label Studio would ask.
    const championVersion = await getChampionVersion(db, projectId);
    const served: (string | undefined)[] = [];
    for (let i = 0; i < hidden.length; i += PREDICT_CHUNK) {
      const { results } = await post('/predict', { tasks: hiddenTexts.slice(i, i + PREDICT_CHUNK).map((text) => ({ data: { text } })), project: String(projectId) });
      for (const r of results as any[]) served.push(r?.result?.[0]?.value?.choices?.[0]);
    }
    const s = score(hiddenTruth, served);

    // Offline: the same classifier, the round's options, the same IDF, exactly these labels.
    const model = round?.modelVersion ? (await db.query('SELECT train_options, promoted FROM models WHERE project_id = $1 AND version = $2', [projectId, round.modelVersion])).rows[0] : null;
    const options = (model?.train_options ?? null) as TrainOptions | null;
    idf ??= fitIdfOn(countFeatures(await poolTextsOf(db, projectId, task, 20_000), spec));
    // In the snapshot's order (by task id): training is deterministic for an order and a seed.
    const examples = [...labelled].sort((a, b) => a - b).map((i) => ({ text: taskText(task, { text: pool[i].text }) ?? '', labels: [pool[i].label] }));
    const offlineClf = await trainClassifier(spec, examples, options ?? (await import('../model/classifier.js')).defaultTrainOptions(42), { idf });
    let offline: { accuracy: number; macroF1: number };
    try {
      offline = score(hiddenTruth, argmaxLabels(offlineClf, hiddenTexts));
    } finally {
      offlineClf.dispose();
    }
    const candidateAccuracy = round?.modelVersion ? score(hiddenTruth, await modelAnswers(projectId, round.modelVersion, hiddenTexts, answers)).accuracy : null;
    const curve = (await get(`/api/projects/${projectId}/learning-curve?metric=accuracy`)).points as { round: number; value: number; low: number; high: number; n: number; source: string }[];
    const est = round ? curve.find((c) => c.round === round.round) : undefined;
    const point: LoopPoint = {
      dataset,
      strategy,
      seed,
      labels: labelled.length,
      auditLabels: audit,
      championVersion,
      servedAccuracy: s.accuracy,
      servedMacroF1: s.macroF1,
      offlineAccuracy: offline.accuracy,
      offlineMacroF1: offline.macroF1,
      candidateVersion: round?.modelVersion ?? null,
      candidatePromoted: model ? model.promoted : null,
      candidateAccuracy,
      estimateAccuracy: est?.value ?? null,
      estimateLow: est?.low ?? null,
      estimateHigh: est?.high ?? null,
      estimateN: est?.n ?? null,
      estimateSource: est?.source ?? null,
      roundsSoFar: (await roundsOf(projectId)).length,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
    points.push(point);
    log(
      `  ${dataset} ${strategy} seed ${seed} @${checkpoint} (audit ${audit}): served ${s.accuracy.toFixed(4)} offline ${offline.accuracy.toFixed(4)} ` +
        `candidate ${candidateAccuracy?.toFixed(4) ?? '-'} ${model?.promoted ? 'promoted' : model?.promoted === false ? 'REJECTED' : ''} estimate ${est ? `${est.value.toFixed(3)} [${est.low.toFixed(3)}, ${est.high.toFixed(3)}] n=${est.n} ${est.source}` : '-'} · ${point.seconds} s`,
    );
  }

  // Every gate decision of the run, scored on the hidden set.
  const rounds = await roundsOf(projectId);
  const trainCountOf = new Map(rounds.filter((r) => r.modelVersion).map((r) => [r.modelVersion!, r.trainCount]));
  const { models } = (await get(`/api/projects/${projectId}/models`)) as { models: ModelRow[] };
  const gate: GateDecision[] = [];
  for (const m of models) {
    const e = m.evidence;
    if (m.promoted === null || !e) continue;
    const trainCount = trainCountOf.get(m.version) ?? null;
    const cand = score(hiddenTruth, await modelAnswers(projectId, m.version, hiddenTexts, answers));
    let inc: { accuracy: number; macroF1: number };
    if (m.championVersion) {
      inc = score(hiddenTruth, await modelAnswers(projectId, m.championVersion, hiddenTexts, answers));
    } else {
      // The majority baseline of the candidate's labels.
      const first = labelled.slice(0, trainCount ?? labelled.length).map((i) => pool[i].label);
      const counts = new Map<string, number>();
      for (const l of first) counts.set(l, (counts.get(l) ?? 0) + 1);
      const majority = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
      inc = score(hiddenTruth, hiddenTruth.map(() => majority));
    }
    const trueDelta = e.metric === 'accuracy' ? cand.accuracy - inc.accuracy : cand.macroF1 - inc.macroF1;
    const half = (e.high - e.low) / 2;
    gate.push({
      dataset,
      strategy,
      seed,
      version: m.version,
      trainCount,
      incumbent: m.championVersion ?? 'majority baseline',
      promoted: m.promoted,
      rule: e.rule,
      metric: e.metric,
      n: e.n,
      delta: e.delta,
      low: e.low,
      high: e.high,
      pValue: e.pValue,
      trueDelta,
      trueAccuracyDelta: cand.accuracy - inc.accuracy,
      wrongRejectHalf: !m.promoted && trueDelta > half,
      wrongRejectWidth: !m.promoted && trueDelta > e.high - e.low,
      wrongReject1pt: !m.promoted && trueDelta > 0.01,
      wrongPromoteHalf: m.promoted && trueDelta < -half,
      wrongPromote1pt: m.promoted && trueDelta < -0.01,
    });
  }
  log(`${dataset} ${strategy} seed ${seed}: ${rounds.length} rounds, ${gate.filter((g) => g.promoted).length} promoted, ${gate.filter((g) => !g.promoted).length} rejected · ${Math.round((performance.now() - started) / 1000)} s`);
  return { points, gate };
}

interface Summary {
  date: string;
  machine: string;
  smoke: boolean;
  seeds: number;
  datasets: string[];
  strategies: string[];
  budget: number;
  checkpoints: number[];
  pool: number;
  test: number;
  runsDone: number;
  runsPlanned: number;
  complete: boolean;
  servedMinusOffline: Record<string, unknown>[];
  gate: Record<string, unknown>;
  labelsToReachRandomAtBudget: Record<string, unknown>;
  strategyVsRandom: Record<string, unknown>[];
  curves: Record<string, unknown>[];
}

function summarise(points: LoopPoint[], gate: GateDecision[], runsDone: number, runsPlanned: number, startedAt: string, machineLine: string): Summary {
  const groups = new Map<string, LoopPoint[]>();
  for (const p of points) {
    const k = `${p.dataset}|${p.strategy}|${p.labels}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  const curves = [...groups].map(([k, g]) => {
    const [dataset, strategy, labels] = k.split('|');
    const served = meanInterval(g.map((p) => p.servedAccuracy));
    const offline = meanInterval(g.map((p) => p.offlineAccuracy));
    const diff = meanInterval(g.map((p) => p.servedAccuracy - p.offlineAccuracy));
    const servedF1 = meanInterval(g.map((p) => p.servedMacroF1));
    const offlineF1 = meanInterval(g.map((p) => p.offlineMacroF1));
    const est = g.filter((p) => p.estimateAccuracy !== null);
    return {
      dataset,
      strategy,
      labels: Number(labels),
      seeds: g.length,
      served: served.mean,
      servedLow: served.low,
      servedHigh: served.high,
      offline: offline.mean,
      offlineLow: offline.low,
      offlineHigh: offline.high,
      servedMinusOffline: diff.mean,
      servedMinusOfflineLow: diff.low,
      servedMinusOfflineHigh: diff.high,
      maxAbsServedMinusOffline: Math.max(...g.map((p) => Math.abs(p.servedAccuracy - p.offlineAccuracy))),
      servedMacroF1: servedF1.mean,
      offlineMacroF1: offlineF1.mean,
      estimate: est.length ? mean(est.map((p) => p.estimateAccuracy!)) : null,
      estimateCoverage: est.length ? mean(est.map((p) => (p.servedAccuracy >= p.estimateLow! && p.servedAccuracy <= p.estimateHigh! ? 1 : 0))) : null,
      auditLabels: mean(g.map((p) => p.auditLabels)),
    };
  });
  curves.sort((a, b) => a.dataset.localeCompare(b.dataset) || a.strategy.localeCompare(b.strategy) || a.labels - b.labels);
  const servedMinusOffline = curves.filter((c) => c.labels === 200 || c.labels === 400 || (SMOKE && CHECKPOINTS.includes(c.labels)));

  const reach: Record<string, unknown> = {};
  const strategyVsRandom: Record<string, unknown>[] = [];
  for (const dataset of new Set(points.map((p) => p.dataset))) {
    const mine = curves.filter((c) => c.dataset === dataset);
    const last = Math.max(...CHECKPOINTS);
    const randomAtBudget = mine.find((c) => c.strategy === 'random' && c.labels === last)?.served ?? null;
    const perStrategy: Record<string, unknown> = { randomServedAccuracyAtBudget: randomAtBudget };
    for (const strategy of new Set(mine.map((c) => c.strategy))) {
      const curve = mine.filter((c) => c.strategy === strategy);
      perStrategy[strategy] = randomAtBudget === null ? null : labelsToReach(curve.map((c) => ({ labels: c.labels, value: c.served })), randomAtBudget);
      perStrategy[`${strategy}Offline`] = randomAtBudget === null ? null : labelsToReach(curve.map((c) => ({ labels: c.labels, value: c.offline })), mine.find((c) => c.strategy === 'random' && c.labels === last)?.offline ?? 1);
    }
    reach[dataset] = perStrategy;
    // Each strategy vs random, paired by seed (same split), at every checkpoint.
    for (const strategy of new Set(mine.map((c) => c.strategy))) {
      if (strategy === 'random') continue;
      for (const labels of CHECKPOINTS) {
        const diffs: number[] = [];
        for (const p of points.filter((x) => x.dataset === dataset && x.strategy === strategy && x.labels === labels)) {
          const r = points.find((x) => x.dataset === dataset && x.strategy === 'random' && x.labels === labels && x.seed === p.seed);
          if (r) diffs.push(p.servedAccuracy - r.servedAccuracy);
        }
        if (diffs.length === 0) continue;
        const i = meanInterval(diffs);
        strategyVsRandom.push({ dataset, strategy, labels, seeds: diffs.length, minusRandom: i.mean, low: i.low, high: i.high, significantlyBelow: diffs.length > 1 && i.high < 0 });
      }
    }
  }
  const count = (f: (g: GateDecision) => boolean) => gate.filter(f).length;
  return {
    date: startedAt,
    machine: machineLine,
    smoke: SMOKE,
    seeds: SEEDS,
    datasets: DATASETS,
    strategies: STRATEGIES,
    budget: BUDGET,
    checkpoints: CHECKPOINTS,
    pool: POOL,
    test: TEST,
    runsDone,
    runsPlanned,
    complete: runsDone === runsPlanned,
    servedMinusOffline,
    gate: {
      decisions: gate.length,
      promoted: count((g) => g.promoted),
      rejected: count((g) => !g.promoted),
      rejectedTrulyBetter: count((g) => !g.promoted && g.trueDelta > 0),
      wrongRejectHalfInterval: count((g) => g.wrongRejectHalf),
      wrongRejectIntervalWidth: count((g) => g.wrongRejectWidth),
      wrongReject1pt: count((g) => g.wrongReject1pt),
      promotedTrulyWorse: count((g) => g.promoted && g.trueDelta < 0),
      wrongPromoteHalfInterval: count((g) => g.wrongPromoteHalf),
      wrongPromote1pt: count((g) => g.wrongPromote1pt),
    },
    labelsToReachRandomAtBudget: reach,
    strategyVsRandom,
    curves,
  };
}

const pct = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : (100 * x).toFixed(digits));
const signed = (x: number, digits = 1) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(digits)}`;

/** Markdown tables of a summary (loop-tables.md), and the plots (bench/python/loopPlots.py) when Python is there. */
function report(summary: Summary): void {
  writeFileSync(path.join(OUT, 'loop-summary.json'), JSON.stringify(summary, null, 1));
  const lines: string[] = [];
  const curves = summary.curves as { dataset: string; strategy: string; labels: number; seeds: number; served: number; servedLow: number; servedHigh: number; offline: number; servedMinusOffline: number; servedMinusOfflineLow: number; servedMinusOfflineHigh: number; maxAbsServedMinusOffline: number; servedMacroF1: number; offlineMacroF1: number; estimate: number | null; estimateCoverage: number | null; auditLabels: number }[];
  lines.push(summary.complete ? '' : `**PARTIAL: ${summary.runsDone} of ${summary.runsPlanned} runs.**\n`);
  lines.push('**Served champion vs the same classifier trained offline on the same labels** (hidden-test accuracy, %, mean [95 % t-interval] over seeds; difference served − offline, and the largest single-run |difference|)\n');
  lines.push('| data set | strategy | labels | seeds | served | offline | served − offline | max \\|Δ\\| | served macro-F1 | round\'s estimate | estimate covers served |');
  lines.push('|---|---|---:|---:|---|---|---|---:|---:|---:|---:|');
  for (const c of curves) {
    lines.push(
      `| ${c.dataset} | ${c.strategy} | ${c.labels} | ${c.seeds} | ${pct(c.served)} [${pct(c.servedLow)}, ${pct(c.servedHigh)}] | ${pct(c.offline)} | ${signed(c.servedMinusOffline, 2)} [${signed(c.servedMinusOfflineLow, 2)}, ${signed(c.servedMinusOfflineHigh, 2)}] | ${pct(c.maxAbsServedMinusOffline, 2)} | ${pct(c.servedMacroF1)} | ${pct(c.estimate)} | ${c.estimateCoverage === null ? '–' : `${Math.round(c.estimateCoverage * c.seeds)}/${c.seeds}`} |`,
    );
  }
  lines.push('\n**Labels each strategy needs, through the loop, to reach random\'s served accuracy at the budget** (mean curves over seeds, interpolated between checkpoints; offline curve in brackets; – = not reached)\n');
  const reach = summary.labelsToReachRandomAtBudget as Record<string, Record<string, number | null>>;
  const strategies = summary.strategies;
  lines.push(`| data set | random@${summary.budget} | ${strategies.join(' | ')} |`);
  lines.push(`|---|---:|${strategies.map(() => '---:').join('|')}|`);
  for (const [dataset, r] of Object.entries(reach)) {
    lines.push(`| ${dataset} | ${pct(r.randomServedAccuracyAtBudget, 2)} | ${strategies.map((st) => `${r[st] ?? '–'} (${r[`${st}Offline`] ?? '–'})`).join(' | ')} |`);
  }
  lines.push('\n**Each strategy − random, paired by seed (same split and hidden set)**, served accuracy in points, mean [95 % t-interval]\n');
  const vs = summary.strategyVsRandom as { dataset: string; strategy: string; labels: number; seeds: number; minusRandom: number; low: number; high: number; significantlyBelow: boolean }[];
  const keys = [...new Set(vs.map((v) => `${v.dataset}|${v.strategy}`))];
  lines.push(`| data set | strategy | ${summary.checkpoints.join(' | ')} |`);
  lines.push(`|---|---|${summary.checkpoints.map(() => '---').join('|')}|`);
  for (const k of keys) {
    const [dataset, strategy] = k.split('|');
    const cells = summary.checkpoints.map((l) => {
      const v = vs.find((x) => x.dataset === dataset && x.strategy === strategy && x.labels === l);
      return v ? `${signed(v.minusRandom)} [${signed(v.low)}, ${signed(v.high)}]${v.significantlyBelow ? ' **below**' : ''}` : '–';
    });
    lines.push(`| ${dataset} | ${strategy} | ${cells.join(' | ')} |`);
  }
  const g = summary.gate as Record<string, number>;
  lines.push('\n**Gate decisions scored on the hidden test set**\n');
  lines.push('| decisions | promoted | rejected | rejected, truly better (any margin) | rejected, truly better by > half the interval | by > the interval\'s width | by > 1 point | promoted, truly worse (any margin) | by > half the interval | by > 1 point |');
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  lines.push(`| ${g.decisions} | ${g.promoted} | ${g.rejected} | ${g.rejectedTrulyBetter} | ${g.wrongRejectHalfInterval} | ${g.wrongRejectIntervalWidth} | ${g.wrongReject1pt} | ${g.promotedTrulyWorse} | ${g.wrongPromoteHalfInterval} | ${g.wrongPromote1pt} |`);
  writeFileSync(path.join(OUT, 'loop-tables.md'), lines.join('\n') + '\n');
  if (!SMOKE && pythonAvailable()) {
    try {
      execFileSync(pythonPath(), [path.join(HERE, 'python', 'loopPlots.py'), OUT], { stdio: 'inherit' });
    } catch (error) {
      log(`plots failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
}

if (values['report-only']) {
  // Re-summarise, tabulate and plot results already measured (a run cut short, or new tables).
  const points = JSON.parse(readFileSync(path.join(OUT, 'loop-points.json'), 'utf8')) as LoopPoint[];
  const gate = JSON.parse(readFileSync(path.join(OUT, 'loop-gate.json'), 'utf8')) as GateDecision[];
  const previous = JSON.parse(readFileSync(path.join(OUT, 'loop-summary.json'), 'utf8')) as Summary;
  // The CSVs follow the JSON (results of several invocations merged by hand stay consistent).
  save('loop-points', points);
  save('loop-gate', gate);
  report(summarise(points, gate, previous.runsDone, previous.runsPlanned, previous.date, previous.machine));
  process.exit(0);
}
mkdirSync(OUT, { recursive: true });
const stack = await benchStack({
  prefix: 'label-loop-loopbench-',
  dataDir: values['data-dir'],
  pgPort: values['pg-port'] ? Number(values['pg-port']) : undefined,
  temporalPort: values['temporal-port'] ? Number(values['temporal-port']) : undefined,
});
const { pg, temporal } = stack;
db = stack.db;
const port = values['api-port'] ? Number(values['api-port']) : await benchPort();
const env = processEnv({
  DATABASE_URL: pg.url,
  TEMPORAL_ADDRESS: temporal.address,
  TEMPORAL_TASK_QUEUE: `bench-loopeff-${port}`,
  LABEL_LOOP_PORT: String(port),
  LABEL_LOOP_MIN_ANNOTATIONS: '1',
  LABEL_LOOP_QUIET_PERIOD_MS: String(QUIET_MS),
  LABEL_LOOP_MAX_WAIT_MS: '600000',
  LABEL_LOOP_PREDICT_CHUNK_SIZE: '2000',
});
const api = spawnTs('cli/main.ts', ['api'], env);
const worker = spawnTs('cli/main.ts', ['worker'], env);
// A benchmark stopped from outside (Ctrl-C, timeout) takes its API and worker with it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    api.kill('SIGTERM');
    worker.kill('SIGTERM');
    void stack.stop().finally(() => process.exit(130));
  });
}
url = `http://127.0.0.1:${port}`;

// On a shared Temporal server (the test suite's) loop workflow ids are global: keep clear of other benchmarks' projects.
const PROJECT_BASE = process.env.TEMPORAL_ADDRESS ? 10_000 + (port % 10_000) * 100 : 100;
const startedAt = new Date().toISOString();
const machineLine = machine();
const allPoints: LoopPoint[] = [];
const allGate: GateDecision[] = [];
const plan: { dataset: DatasetName; datasetIndex: number; strategy: string; seed: number }[] = [];
// Seed-major: a run cut short still has every strategy and data set for the seeds it finished.
for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
  DATASETS.forEach((dataset, datasetIndex) => {
    for (const strategy of STRATEGIES) plan.push({ dataset, datasetIndex, strategy, seed });
  });
}
let failed = false;
try {
  await waitForHttp(`${url}/health`, 120_000);
  log(`machine: ${machineLine}; ${plan.length} runs, out ${OUT}`);
  for (let r = 0; r < plan.length; r++) {
    const run = plan[r];
    const { points, gate } = await runOne(run.dataset, run.datasetIndex, run.strategy, run.seed, PROJECT_BASE + r);
    allPoints.push(...points);
    allGate.push(...gate);
    // Written after every run: a benchmark cut short keeps what it measured.
    save('loop-points', allPoints);
    save('loop-gate', allGate);
    writeFileSync(path.join(OUT, 'loop-summary.json'), JSON.stringify(summarise(allPoints, allGate, r + 1, plan.length, startedAt, machineLine), null, 1));
  }
  const summary = summarise(allPoints, allGate, plan.length, plan.length, startedAt, machineLine);
  if (SMOKE) {
    const ok = allPoints.length === CHECKPOINTS.length && allPoints.every((p) => p.championVersion !== null && p.servedAccuracy > 0.5 && p.offlineAccuracy > 0.5);
    console.log(JSON.stringify({ out: OUT, points: allPoints.length, gate: summary.gate }));
    console.log(`\nloop efficiency smoke: ${ok ? '1 passed, 0 failed' : '0 passed, 1 failed'}`);
    if (!ok) failed = true;
  } else {
    console.log(JSON.stringify({ out: OUT, servedMinusOffline: summary.servedMinusOffline, gate: summary.gate, labelsToReach: summary.labelsToReachRandomAtBudget }, null, 1));
    report(summary);
  }
} catch (error) {
  failed = true;
  log(`failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  await stopChild(api);
  await stopChild(worker);
  await stack.stop();
}
process.exit(failed ? 1 : 0);
