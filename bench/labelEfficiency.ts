/**
 * Label-efficiency benchmark: `npx tsx bench/labelEfficiency.ts [--smoke] [--seeds 5]
 * [--parts compare,al,evaluation,speed,cost] [--datasets spam,brown] [--out bench/results]`.
 *
 * Parts (all on the fixed pool/test split of bench/datasets):
 *  - compare     our classifier vs scikit-learn (label-studio-ml-backend's example model, LR with
 *                CV'd C, LinearSVC, ComplementNB) at 50, 100, 200, 400, 800 and all labels
 *                (random labels, nested per seed), accuracy, macro-F1, ECE (ours);
 *  - al          pool-based active learning in batches of BATCH labels up to BUDGET labels, every
 *                strategy in model/strategies.ts, test accuracy / macro-F1 / ECE after every round;
 *                plus the sklearn example model on the random strategy's label sets;
 *  - evaluation  how the loop should estimate accuracy (hold-out of uncertainty-chosen labels vs
 *                k-fold CV vs k-fold CV scored on a random audit stream) and how the promotion gate
 *                behaves, on hybrid-strategy trajectories, against the true test accuracy;
 *  - speed       train on 2,000 labels / predict 10,000 tasks, ours vs the sklearn example model,
 *                same run, medians of wall-clock and CPU time;
 *  - cost        time to rank 100,000 candidates with each strategy.
 * Writes <out>/*.json and *.csv, then (unless --smoke) renders PNG plots with
 * bench/python/plots.py and rewrites the generated section of BENCHMARKS.md.
 *
 * --smoke: tiny subsets, one seed, three rounds, no Python, output to a temporary directory
 * unless --out is given; finishes in seconds (test/model/benchSmoke.test.ts runs it).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compare, summarise, type CompareRow } from './compare.js';
import { DATASET_NAMES, classBalance, holdOut, loadDataset, type DatasetName, type LabelledText } from './datasets/index.js';
import { pythonAvailable, pythonPath, sklearnCurves, sklearnSpeed, sklearnVersion, type SklearnModel } from './sklearn.js';
import { calibrationOf } from '../model/calibration.js';
import { countFeatures, defaultSpec, defaultTrainOptions, fitIdfOn, trainClassifier, type Classifier, type ModelSpec } from '../model/classifier.js';
import { promotionDecision, stratifiedKFold, wilsonInterval } from '../model/evaluation.js';
import { evaluate } from '../model/metrics.js';
import { deriveSeed, mulberry32, shuffleInPlace } from '../model/random.js';
import { hybridRank, rank, subsetRows, type StrategyName } from '../model/strategies.js';
import { tfidf, type SparseMatrix } from '../model/tfidf.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface BenchOptions {
  smoke: boolean;
  seeds: number;
  parts: string[];
  datasets: DatasetName[];
  out: string;
  log: (line: string) => void;
}

/** An active-learning run: how the first batch is chosen and which strategy picks later batches. */
interface AlRun {
  name: string;
  first: 'random' | 'cold_start';
  strategy: StrategyName;
  randomShare?: number;
}

const AL_RUNS: AlRun[] = [
  { name: 'random', first: 'random', strategy: 'random' },
  { name: 'least_confidence', first: 'random', strategy: 'least_confidence' },
  { name: 'margin', first: 'random', strategy: 'margin' },
  { name: 'entropy', first: 'random', strategy: 'entropy' },
  { name: 'diverse_margin', first: 'random', strategy: 'diverse_margin' },
  { name: 'cold_start+margin', first: 'cold_start', strategy: 'margin' },
  { name: 'hybrid25', first: 'cold_start', strategy: 'hybrid', randomShare: 0.25 },
  { name: 'hybrid50', first: 'cold_start', strategy: 'hybrid', randomShare: 0.5 },
];

interface Pools {
  name: DatasetName;
  labels: string[];
  pool: LabelledText[];
  test: LabelledText[];
  spec: ModelSpec;
  poolCounts: SparseMatrix;
  testCounts: SparseMatrix;
  idf: ReturnType<typeof fitIdfOn>;
  /** Pool TF-IDF rows (for the feature-space strategies; the IDF is fixed, so these are too). */
  poolFeatures: SparseMatrix;
}

function preparePools(name: DatasetName, limit?: number): Pools {
  const dataset = loadDataset(name);
  const split = holdOut(dataset);
  const pool = limit ? split.pool.slice(0, limit) : split.pool;
  const test = limit ? split.test.slice(0, Math.ceil(limit / 2)) : split.test;
  const spec = defaultSpec(dataset.labels, false);
  const poolCounts = countFeatures(
    pool.map((i) => i.text),
    spec,
  );
  const idf = fitIdfOn(poolCounts);
  return {
    name,
    labels: dataset.labels,
    pool,
    test,
    spec,
    poolCounts,
    testCounts: countFeatures(
      test.map((i) => i.text),
      spec,
    ),
    idf,
    poolFeatures: tfidf(poolCounts, idf.values),
  };
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Mean and a t-based 95% interval over seeds (normal 1.96 when ≥ 30 values). */
function meanInterval(values: number[]): { mean: number; low: number; high: number } {
  const m = mean(values);
  if (values.length < 2) return { mean: m, low: m, high: m };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
  const t = [0, 12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262][values.length - 1] ?? 1.96;
  const half = (t * sd) / Math.sqrt(values.length);
  return { mean: m, low: m - half, high: m + half };
}

async function train(p: Pools, labelled: number[], seed: number): Promise<Classifier> {
  const examples = labelled.map((i) => ({ text: p.pool[i].text, labels: [p.pool[i].label] }));
  return trainClassifier(p.spec, examples, defaultTrainOptions(seed), { idf: p.idf });
}

function scoreTest(p: Pools, clf: Classifier): { accuracy: number; macroF1: number; ece: number; predicted: string[] } {
  const probs = clf.predictProbaFromCounts(p.testCounts);
  const truth = p.test.map((i) => [i.label]);
  const space = { labels: p.labels, multiLabel: false };
  const m = evaluate(truth, probs, space);
  const predicted = probs.map((row) => p.labels[row.indexOf(Math.max(...row))]);
  return { accuracy: m.accuracy, macroF1: m.macroF1, ece: calibrationOf(truth, probs, space).ece, predicted };
}

export interface AlPoint {
  dataset: string;
  run: string;
  seed: number;
  labels: number;
  accuracy: number;
  macroF1: number;
  ece: number;
}

/** One active-learning trajectory. Returns a point per round; `onRound` sees the state for the evaluation study. */
async function activeLearning(
  p: Pools,
  run: AlRun,
  seed: number,
  batch: number,
  budget: number,
  onRound?: (state: { labelled: number[]; randomPicks: Set<number>; clf: Classifier; round: number }) => Promise<void>,
): Promise<AlPoint[]> {
  const N = p.pool.length;
  const labelled: number[] = [];
  const isLabelled = new Uint8Array(N);
  const randomPicks = new Set<number>();
  const take = (indices: ArrayLike<number>, count: number, random: boolean) => {
    let added = 0;
    for (let r = 0; r < indices.length && added < count; r++) {
      const i = indices[r];
      if (isLabelled[i]) continue;
      isLabelled[i] = 1;
      labelled.push(i);
      if (random) randomPicks.add(i);
      added++;
    }
  };
  const roundSeed = (round: number) => deriveSeed(seed, round, 0xa1);
  // First batch: random (same for every run with this seed) or cold start.
  if (run.first === 'random') take(rank('random', { features: p.poolFeatures, seed: roundSeed(0), batchSize: batch }), batch, true);
  else take(rank('cold_start', { features: p.poolFeatures, seed: roundSeed(0), batchSize: batch }), batch, false);
  const points: AlPoint[] = [];
  for (let round = 1; ; round++) {
    const clf = await train(p, labelled, seed);
    const s = scoreTest(p, clf);
    points.push({ dataset: p.name, run: run.name, seed, labels: labelled.length, accuracy: s.accuracy, macroF1: s.macroF1, ece: s.ece });
    if (onRound) await onRound({ labelled: [...labelled], randomPicks, clf, round });
    if (labelled.length >= budget) break;
    const candidates: number[] = [];
    for (let i = 0; i < N; i++) if (!isLabelled[i]) candidates.push(i);
    const size = Math.min(batch, budget - labelled.length, candidates.length);
    if (size === 0) break;
    const needsProbabilities = run.strategy !== 'random';
    const probabilities = needsProbabilities ? clf.predictProbaFromCounts(subsetRows(p.poolCounts, candidates)) : undefined;
    const input = {
      candidates: candidates.length,
      probabilities,
      features: run.strategy === 'diverse_margin' ? subsetRows(p.poolFeatures, candidates) : undefined,
      labelledFeatures: run.strategy === 'diverse_margin' ? subsetRows(p.poolFeatures, labelled) : undefined,
      seed: roundSeed(round),
      batchSize: size,
      randomShare: run.randomShare,
    };
    if (run.strategy === 'hybrid') {
      // The random share of each batch is the audit stream.
      const { order, randomPick } = hybridRank(input);
      for (let r = 0; r < size; r++) {
        const i = candidates[order[r]];
        isLabelled[i] = 1;
        labelled.push(i);
        if (randomPick[r]) randomPicks.add(i);
      }
    } else {
      const order = rank(run.strategy, input);
      take(
        Array.from(order, (r) => candidates[r]),
        size,
        run.strategy === 'random',
      );
    }
  }
  return points;
}

/** Labels at which the mean curve first reaches `target` (linear interpolation between rounds), or null. */
function labelsToReach(points: AlPoint[], target: number): number | null {
  const byLabels = new Map<number, number[]>();
  for (const pt of points) byLabels.set(pt.labels, [...(byLabels.get(pt.labels) ?? []), pt.accuracy]);
  const curve = [...byLabels].map(([labels, accs]) => [labels, mean(accs)] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < curve.length; i++) {
    if (curve[i][1] >= target) {
      if (i === 0) return curve[0][0];
      const [x0, y0] = curve[i - 1];
      const [x1, y1] = curve[i];
      return Math.round(x0 + ((target - y0) / (y1 - y0)) * (x1 - x0));
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Evaluation design.

export interface EvaluationPoint {
  dataset: string;
  seed: number;
  labels: number;
  auditItems: number;
  /** True test accuracy of the model trained on all labels (what the loop deploys). */
  trueAll: number;
  /** True test accuracy of the model trained on 80% of the labels (what the current hold-out scheme deploys). */
  true80: number;
  /** Current scheme: accuracy on a random 20% of the (mostly uncertainty-chosen) labels, of the 80% model. */
  holdout20: number;
  /** 5-fold CV accuracy over all labels. */
  kfold: number;
  /** 5-fold CV predictions scored only on the random audit picks. */
  kfoldAudit: number;
  auditLow: number;
  auditHigh: number;
}

async function evaluationStudy(p: Pools, seeds: number, batch: number, budget: number, every: number, log: (s: string) => void): Promise<{ points: EvaluationPoint[]; gate: GateRow[] }> {
  const points: EvaluationPoint[] = [];
  const gate: GateRow[] = [];
  const run = AL_RUNS.find((r) => r.name === 'hybrid50')!;
  for (let seed = 1; seed <= seeds; seed++) {
    let previous: { predicted: string[]; accuracy: number } | null = null;
    await activeLearning(p, run, seed, batch, budget, async ({ labelled, randomPicks, clf, round }) => {
      const test = scoreTest(p, clf);
      if (previous) gate.push(...gateTrials(p, previous, test, labelled.length, randomPicks.size, seed, round));
      previous = { predicted: test.predicted, accuracy: test.accuracy };
      if (labelled.length % every !== 0) return;
      const truth = labelled.map((i) => p.pool[i].label);
      // Current scheme: a seeded random 20% of the labels held out.
      const shuffled = [...labelled];
      shuffleInPlace(shuffled, mulberry32(deriveSeed(seed, labelled.length, 0x20)));
      const cut = Math.floor(shuffled.length * 0.8);
      const clf80 = await train(p, shuffled.slice(0, cut), seed);
      const held = shuffled.slice(cut);
      const heldProbs = clf80.predictProbaFromCounts(subsetRows(p.poolCounts, held));
      const holdout20 = mean(held.map((i, r) => (p.labels[argmax(heldProbs[r])] === p.pool[i].label ? 1 : 0)));
      const true80 = scoreTest(p, clf80).accuracy;
      // 5-fold CV over all labels.
      const folds = stratifiedKFold(truth, 5, seed);
      const correct = new Uint8Array(labelled.length);
      for (let f = 0; f < 5; f++) {
        const trainIdx = labelled.filter((_, r) => folds[r] !== f);
        const heldIdx = labelled.map((i, r) => [i, r] as const).filter(([, r]) => folds[r] === f);
        const m = await train(p, trainIdx, seed);
        const probs = m.predictProbaFromCounts(
          subsetRows(
            p.poolCounts,
            heldIdx.map(([i]) => i),
          ),
        );
        heldIdx.forEach(([i, r], q) => (correct[r] = p.labels[argmax(probs[q])] === p.pool[i].label ? 1 : 0));
      }
      const kfold = mean(Array.from(correct));
      const auditRows = labelled.map((i, r) => [i, r] as const).filter(([i]) => randomPicks.has(i));
      const auditCorrect = auditRows.reduce((a, [, r]) => a + correct[r], 0);
      const w = wilsonInterval(auditCorrect, auditRows.length);
      points.push({
        dataset: p.name,
        seed,
        labels: labelled.length,
        auditItems: auditRows.length,
        trueAll: test.accuracy,
        true80,
        holdout20,
        kfold,
        kfoldAudit: w.estimate,
        auditLow: w.low,
        auditHigh: w.high,
      });
    });
    log(`  evaluation ${p.name} seed ${seed} done`);
  }
  return { points, gate };
}

function argmax(row: number[]): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

export interface GateRow {
  dataset: string;
  seed: number;
  round: number;
  labels: number;
  auditItems: number;
  /** candidate − champion true test accuracy. */
  trueDifference: number;
  promote: boolean;
}

/**
 * The promotion gate on a realistic audit sample: `audit` random test items (as many as the random
 * share has labelled so far) stand in for the audit stream; candidate = the model after this round
 * (superset of the champion's labels), champion = the model of the previous round.
 */
function gateTrials(p: Pools, champion: { predicted: string[]; accuracy: number }, candidate: { predicted: string[]; accuracy: number }, labels: number, audit: number, seed: number, round: number): GateRow[] {
  if (audit < 10) return [];
  const order = Array.from({ length: p.test.length }, (_, i) => i);
  shuffleInPlace(order, mulberry32(deriveSeed(seed, round, 0x9a7e)));
  const items = order.slice(0, Math.min(audit, order.length));
  const decision = promotionDecision({
    truth: items.map((i) => p.test[i].label),
    champion: items.map((i) => champion.predicted[i]),
    candidate: items.map((i) => candidate.predicted[i]),
    candidateHasSupersetOfLabels: true,
  });
  return [{ dataset: p.name, seed, round, labels, auditItems: items.length, trueDifference: candidate.accuracy - champion.accuracy, promote: decision.promote }];
}

// ---------------------------------------------------------------------------------------------
// Speed.

export interface SpeedRow {
  dataset: string;
  model: string;
  /** Median latency of predictProba on one task (ours only), ms. */
  singleTaskMs?: number;
  /** predictCount / predictSeconds (wall). */
  tasksPerSecond?: number;
  trainSeconds: number;
  trainCpuSeconds: number;
  predictSeconds: number;
  predictCpuSeconds: number;
  runs: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function speed(p: Pools, trainCount: number, predictCount: number, runs: number): Promise<SpeedRow[]> {
  const trainIdx = Array.from({ length: Math.min(trainCount, p.pool.length) }, (_, i) => i);
  const all = [...p.pool, ...p.test];
  const predictTexts = Array.from({ length: predictCount }, (_, i) => all[i % all.length].text);
  const examples = trainIdx.map((i) => ({ text: p.pool[i].text, labels: [p.pool[i].label] }));
  const wall: number[] = [];
  const cpu: number[] = [];
  const pWall: number[] = [];
  const pCpu: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    let t = performance.now();
    let c = cpuSeconds();
    // As the sklearn pipeline does: featurise and fit IDF on the training texts only.
    const clf = await trainClassifier(p.spec, examples, defaultTrainOptions(1));
    const tw = (performance.now() - t) / 1000;
    const tc = cpuSeconds() - c;
    t = performance.now();
    c = cpuSeconds();
    clf.predictProba(predictTexts);
    if (r > 0) {
      // Run 0 warms up the JIT; sklearn's first run pays for imports instead.
      wall.push(tw);
      cpu.push(tc);
      pWall.push((performance.now() - t) / 1000);
      pCpu.push(cpuSeconds() - c);
    }
  }
  const clf = await trainClassifier(p.spec, examples, defaultTrainOptions(1));
  const single: number[] = [];
  for (let i = 0; i < Math.min(1000, predictTexts.length); i++) {
    const t = performance.now();
    clf.predictProba([predictTexts[i]]);
    single.push(performance.now() - t);
  }
  const rows: SpeedRow[] = [
    {
      dataset: p.name,
      model: 'ours',
      trainSeconds: median(wall),
      trainCpuSeconds: median(cpu),
      predictSeconds: median(pWall),
      predictCpuSeconds: median(pCpu),
      runs,
      singleTaskMs: median(single),
      tasksPerSecond: predictCount / median(pWall),
    },
  ];
  if (pythonAvailable()) {
    const index = new Map(p.labels.map((l, i) => [l, i]));
    const texts = [...p.pool.slice(0, trainIdx.length).map((i) => i.text), ...predictTexts];
    const y = [...p.pool.slice(0, trainIdx.length).map((i) => index.get(i.label)!), ...predictTexts.map(() => 0)];
    for (const r of sklearnSpeed({
      texts,
      y,
      trainIdx,
      predictIdx: predictTexts.map((_, i) => trainIdx.length + i),
      models: ['ls_example'],
      runs,
    })) {
      rows.push({ ...r, dataset: p.name, model: `sklearn ${r.model}` });
    }
  }
  return rows;
}

function strategyCost(p: Pools, candidates: number): { strategy: string; seconds: number }[] {
  const rows = Array.from({ length: candidates }, (_, i) => i % p.pool.length);
  const features = subsetRows(p.poolFeatures, rows);
  const L = p.labels.length;
  const random = mulberry32(7);
  const probabilities = rows.map(() => {
    const r = Array.from({ length: L }, () => random() + 1e-3);
    const s = r.reduce((a, b) => a + b, 0);
    return r.map((v) => v / s);
  });
  const labelledFeatures = subsetRows(p.poolFeatures, Array.from({ length: Math.min(500, p.pool.length) }, (_, i) => i));
  return (['random', 'least_confidence', 'margin', 'entropy', 'diverse_margin', 'cold_start', 'hybrid'] as StrategyName[]).map((strategy) => {
    const t = performance.now();
    rank(strategy, { probabilities: strategy === 'cold_start' ? undefined : probabilities, features, labelledFeatures, seed: 1, batchSize: 50 });
    return { strategy, seconds: (performance.now() - t) / 1000 };
  });
}

// ---------------------------------------------------------------------------------------------

function toCsv(rows: object[]): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]);
  return [keys.join(','), ...rows.map((r) => keys.map((k) => JSON.stringify((r as Record<string, unknown>)[k] ?? '')).join(','))].join('\n') + '\n';
}

function save(out: string, name: string, rows: object[]): void {
  writeFileSync(path.join(out, `${name}.json`), JSON.stringify(rows, null, 1));
  writeFileSync(path.join(out, `${name}.csv`), toCsv(rows));
}

export async function runBenchmark(o: BenchOptions): Promise<Record<string, unknown>> {
  mkdirSync(o.out, { recursive: true });
  const limit = o.smoke ? 200 : undefined;
  const batch = o.smoke ? 20 : 25;
  const budget = o.smoke ? 40 : 500;
  const summary: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${process.platform}, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at start`,
    sklearn: pythonAvailable() && !o.smoke ? sklearnVersion() : null,
    smoke: o.smoke,
    seeds: o.seeds,
  };
  const datasets: Record<string, unknown>[] = [];
  for (const name of o.datasets) {
    const d = loadDataset(name);
    const lengths = d.items.map((i) => i.text.length).sort((a, b) => a - b);
    datasets.push({ name, title: d.title, source: d.source, n: d.items.length, classes: d.labels.length, balance: classBalance(d.items), medianChars: lengths[lengths.length >> 1] });
  }
  summary.datasets = datasets;

  if (o.parts.includes('compare')) {
    o.log('compare…');
    const rows: CompareRow[] = await compare({
      datasets: o.datasets,
      sizes: o.smoke ? [50] : [50, 100, 200, 400, 800, 'all'],
      seeds: o.seeds,
      ours: ['default'],
      sklearn: o.smoke ? [] : (['ls_example', 'lr_cv', 'svm', 'cnb'] as SklearnModel[]),
      log: o.log,
      limit,
    });
    save(o.out, 'compare', rows);
    summary.compare = { accuracy: summarise(rows), macroF1: summarise(rows, 'macroF1') };
  }

  const pools = new Map<DatasetName, Pools>();
  const poolsFor = (name: DatasetName) => {
    if (!pools.has(name)) pools.set(name, preparePools(name, limit));
    return pools.get(name)!;
  };

  if (o.parts.includes('al')) {
    const points: AlPoint[] = [];
    const reach: Record<string, Record<string, number | null>> = {};
    for (const name of o.datasets) {
      const p = poolsFor(name);
      for (const run of AL_RUNS) {
        for (let seed = 1; seed <= o.seeds; seed++) points.push(...(await activeLearning(p, run, seed, batch, budget)));
        o.log(`  al ${name} ${run.name} done`);
      }
      // The sklearn example model on the random run's label sets.
      if (!o.smoke && pythonAvailable()) {
        const index = new Map(p.labels.map((l, i) => [l, i]));
        const all = [...p.pool, ...p.test];
        const jobs: { key: string; train: number[] }[] = [];
        for (let seed = 1; seed <= o.seeds; seed++) {
          const order = Array.from(rank('random', { features: p.poolFeatures, seed: deriveSeed(seed, 0, 0xa1), batchSize: batch }));
          // Later random batches come from other seeds' permutations; the sklearn curve uses one
          // seeded random order per seed (a random label set of each size, as the random run).
          for (const n of [50, 100, 200, 300, 400, 500]) jobs.push({ key: `${seed}:${n}`, train: order.slice(0, n) });
        }
        for (const r of sklearnCurves({
          labels: p.labels,
          texts: all.map((i) => i.text),
          y: all.map((i) => index.get(i.label)!),
          test: p.test.map((_, i) => p.pool.length + i),
          jobs,
          models: ['ls_example'],
        })) {
          const seed = Number(r.key.split(':')[0]);
          points.push({ dataset: name, run: 'sklearn ls_example (random)', seed, labels: r.n, accuracy: r.accuracy, macroF1: r.macroF1, ece: NaN });
        }
      }
      const mine = points.filter((pt) => pt.dataset === name);
      const randomAtBudget = mean(mine.filter((pt) => pt.run === 'random' && pt.labels === budget).map((pt) => pt.accuracy));
      reach[name] = { randomAccuracyAtBudget: randomAtBudget };
      for (const run of AL_RUNS) reach[name][run.name] = labelsToReach(mine.filter((pt) => pt.run === run.name), randomAtBudget);
    }
    save(o.out, 'al', points);
    const curves: Record<string, unknown>[] = [];
    const groups = new Map<string, AlPoint[]>();
    for (const pt of points) {
      const key = `${pt.dataset}|${pt.run}|${pt.labels}`;
      groups.set(key, [...(groups.get(key) ?? []), pt]);
    }
    for (const [key, g] of groups) {
      const [dataset, run, labels] = key.split('|');
      const acc = meanInterval(g.map((x) => x.accuracy));
      const f1 = meanInterval(g.map((x) => x.macroF1));
      curves.push({ dataset, run, labels: Number(labels), seeds: g.length, accuracy: acc.mean, accuracyLow: acc.low, accuracyHigh: acc.high, macroF1: f1.mean, macroF1Low: f1.low, macroF1High: f1.high, ece: mean(g.map((x) => x.ece)) });
    }
    save(o.out, 'al-curves', curves);
    summary.labelsToReachRandomAtBudget = { budget, ...reach };
  }

  if (o.parts.includes('evaluation')) {
    const all: EvaluationPoint[] = [];
    const gates: GateRow[] = [];
    for (const name of o.datasets) {
      const { points, gate } = await evaluationStudy(poolsFor(name), o.seeds, batch, budget, o.smoke ? 20 : 100, o.log);
      all.push(...points);
      gates.push(...gate);
    }
    save(o.out, 'evaluation', all);
    save(o.out, 'gate', gates);
    const study: Record<string, unknown> = {};
    for (const name of o.datasets) {
      const pts = all.filter((x) => x.dataset === name);
      const bias = (f: (x: EvaluationPoint) => number) => mean(pts.map(f));
      const rmse = (f: (x: EvaluationPoint) => number) => Math.sqrt(mean(pts.map((x) => f(x) ** 2)));
      const g = gates.filter((x) => x.dataset === name);
      study[name] = {
        points: pts.length,
        holdout20: { biasVsItsModel: bias((x) => x.holdout20 - x.true80), rmse: rmse((x) => x.holdout20 - x.true80), deployedModelLoss: bias((x) => x.trueAll - x.true80) },
        kfold: { bias: bias((x) => x.kfold - x.trueAll), rmse: rmse((x) => x.kfold - x.trueAll) },
        kfoldAudit: {
          bias: bias((x) => x.kfoldAudit - x.trueAll),
          rmse: rmse((x) => x.kfoldAudit - x.trueAll),
          coverage: mean(pts.map((x) => (x.trueAll >= x.auditLow && x.trueAll <= x.auditHigh ? 1 : 0))),
          meanAuditItems: mean(pts.map((x) => x.auditItems)),
        },
        gate: {
          trials: g.length,
          promoted: mean(g.map((x) => (x.promote ? 1 : 0))),
          keptOutWhenTrulyBetter: g.filter((x) => x.trueDifference > 0 && !x.promote).length,
          promotedWhenWorseBy1pt: g.filter((x) => x.trueDifference < -0.01 && x.promote).length,
          worseBy1pt: g.filter((x) => x.trueDifference < -0.01).length,
        },
      };
    }
    summary.evaluationDesign = study;
  }

  if (o.parts.includes('speed')) {
    const rows: SpeedRow[] = [];
    for (const name of o.datasets) rows.push(...(await speed(poolsFor(name), o.smoke ? 100 : 2000, o.smoke ? 200 : 10_000, o.smoke ? 1 : 3)));
    save(o.out, 'speed', rows);
    summary.speed = rows;
  }

  if (o.parts.includes('cost')) {
    const rows = o.datasets.flatMap((name) => strategyCost(poolsFor(name), o.smoke ? 500 : 100_000).map((r) => ({ dataset: name, candidates: o.smoke ? 500 : 100_000, ...r })));
    save(o.out, 'strategy-cost', rows);
    summary.strategyCost = rows;
  }

  // Parts may run in separate processes (--parts): merge with an existing summary.
  const summaryPath = path.join(o.out, 'summary.json');
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(summaryPath, 'utf8')) as Record<string, unknown>;
  } catch {
    previous = {};
  }
  writeFileSync(summaryPath, JSON.stringify({ ...previous, ...summary }, null, 1));
  if (!o.smoke && pythonAvailable()) {
    try {
      execFileSync(pythonPath(), [path.join(HERE, 'python', 'plots.py'), o.out], { stdio: 'inherit' });
    } catch (error) {
      o.log(`plots failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return summary;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      seeds: { type: 'string' },
      parts: { type: 'string', default: 'compare,al,evaluation,speed,cost' },
      datasets: { type: 'string', default: DATASET_NAMES.join(',') },
      out: { type: 'string' },
    },
  });
  const out = values.out ?? (values.smoke ? mkdtempSync(path.join(os.tmpdir(), 'label-loop-bench-')) : path.join(HERE, 'results'));
  const started = performance.now();
  const summary = await runBenchmark({
    smoke: values.smoke,
    seeds: Number(values.seeds ?? (values.smoke ? 1 : 5)),
    parts: values.parts.split(','),
    datasets: values.datasets.split(',') as DatasetName[],
    out,
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify({ out, seconds: Math.round((performance.now() - started) / 1000), labelsToReach: summary.labelsToReachRandomAtBudget ?? null }, null, 1));
}
