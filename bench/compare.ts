/**
 * Model comparison on fixed label budgets: `npx tsx bench/compare.ts [--datasets spam,brown]
 * [--sizes 50,100,200,400,800,all] [--seeds 5] [--ours default,legacy] [--sklearn ls_example,lr_cv,svm,cnb]
 * [--out bench/results/compare.json]`.
 *
 * For each data set, seed s and size n, the training set is the first n items of the pool (see
 * datasets/index.ts) shuffled with seed s (so sizes are nested per seed); every model is scored on the
 * same fixed test set. Our models also get the whole pool's texts as the unlabelled pool. Prints the
 * mean accuracy / macro-F1 per (model, n) and writes every run to --out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { holdOut, loadDataset, type DatasetName } from './datasets/index.js';
import { OUR_MODELS, type OurModelName } from './ourModels.js';
import { pythonAvailable, sklearnCurves, type SklearnModel } from './sklearn.js';
import { calibrationOf } from '../model/calibration.js';
import { evaluate } from '../model/metrics.js';
import { deriveSeed, mulberry32, shuffleInPlace } from '../model/random.js';

export interface CompareRow {
  dataset: string;
  model: string;
  seed: number;
  n: number;
  accuracy: number;
  macroF1: number;
  ece?: number;
  fitSeconds: number;
}

export function subsetOrder(poolSize: number, seed: number): number[] {
  const order = Array.from({ length: poolSize }, (_, i) => i);
  shuffleInPlace(order, mulberry32(deriveSeed(seed, 0x5b5e7)));
  return order;
}

export async function compare(opts: {
  datasets: DatasetName[];
  sizes: (number | 'all')[];
  seeds: number;
  ours: OurModelName[];
  sklearn: SklearnModel[];
  log?: (line: string) => void;
  /** Smoke mode: use only the first `limit` pool and test items. */
  limit?: number;
}): Promise<CompareRow[]> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const rows: CompareRow[] = [];
  for (const name of opts.datasets) {
    const dataset = loadDataset(name);
    const split = holdOut(dataset);
    const pool = opts.limit ? split.pool.slice(0, opts.limit) : split.pool;
    const test = opts.limit ? split.test.slice(0, Math.ceil(opts.limit / 2)) : split.test;
    const poolTexts = pool.map((i) => i.text);
    const testTexts = test.map((i) => i.text);
    const truth = test.map((i) => [i.label]);
    const jobs: { key: string; seed: number; n: number; train: number[] }[] = [];
    for (let seed = 1; seed <= opts.seeds; seed++) {
      const order = subsetOrder(pool.length, seed);
      for (const size of opts.sizes) {
        const n = size === 'all' ? pool.length : Math.min(size, pool.length);
        // "all" is the same set for every seed: run it once.
        if (size === 'all' && seed > 1) continue;
        jobs.push({ key: `${seed}:${n}`, seed, n, train: order.slice(0, n) });
      }
    }
    for (const modelName of opts.ours) {
      const factory = OUR_MODELS[modelName];
      for (const job of jobs) {
        const examples = job.train.map((i) => ({ text: pool[i].text, labels: [pool[i].label] }));
        const start = performance.now();
        const model = await factory.train(dataset.labels, examples, poolTexts, job.seed);
        const fitSeconds = (performance.now() - start) / 1000;
        const probs = model.predictProba(testTexts);
        const space = { labels: dataset.labels, multiLabel: false };
        const metrics = evaluate(truth, probs, space);
        model.dispose();
        const ece = calibrationOf(truth, probs, space).ece;
        rows.push({ dataset: name, model: modelName, seed: job.seed, n: job.n, accuracy: metrics.accuracy, macroF1: metrics.macroF1, ece, fitSeconds });
      }
      log(`  ${name} ${modelName} done`);
    }
    if (opts.sklearn.length > 0 && pythonAvailable()) {
      const index = new Map(dataset.labels.map((l, i) => [l, i]));
      const all = [...pool, ...test];
      const results = sklearnCurves({
        labels: dataset.labels,
        texts: all.map((i) => i.text),
        y: all.map((i) => index.get(i.label)!),
        test: test.map((_, i) => pool.length + i),
        jobs: jobs.map((j) => ({ key: j.key, train: j.train })),
        models: opts.sklearn,
      });
      for (const r of results) {
        const [seed] = r.key.split(':').map(Number);
        rows.push({ dataset: name, model: r.model, seed, n: r.n, accuracy: r.accuracy, macroF1: r.macroF1, fitSeconds: r.fitSeconds });
      }
    } else if (opts.sklearn.length > 0) {
      log('  Python with scikit-learn not found (run bench/python/setup.sh): skipping the sklearn baselines');
    }
  }
  return rows;
}

export function summarise(rows: CompareRow[], metric: 'accuracy' | 'macroF1' = 'accuracy'): Record<string, Record<string, string>> {
  const table: Record<string, Record<string, string>> = {};
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    const key = `${r.dataset}|${r.model}|${r.n}`;
    groups.set(key, [...(groups.get(key) ?? []), r[metric]]);
  }
  for (const [key, values] of groups) {
    const [dataset, model, n] = key.split('|');
    const rowKey = `${dataset} ${model}`;
    table[rowKey] ??= {};
    table[rowKey][n] = (values.reduce((a, b) => a + b, 0) / values.length).toFixed(4);
  }
  return table;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { values } = parseArgs({
    options: {
      datasets: { type: 'string', default: 'spam,brown' },
      sizes: { type: 'string', default: '50,100,200,400,800,all' },
      seeds: { type: 'string', default: '5' },
      ours: { type: 'string', default: 'default' },
      sklearn: { type: 'string', default: 'ls_example,lr_cv,svm,cnb' },
      out: { type: 'string', default: 'bench/results/compare.json' },
    },
  });
  const rows = await compare({
    datasets: values.datasets.split(',') as DatasetName[],
    sizes: values.sizes.split(',').map((s) => (s === 'all' ? 'all' : Number(s))),
    seeds: Number(values.seeds),
    ours: values.ours.split(',').filter(Boolean) as OurModelName[],
    sklearn: values.sklearn.split(',').filter(Boolean) as SklearnModel[],
  });
  mkdirSync(path.dirname(values.out), { recursive: true });
  writeFileSync(values.out, JSON.stringify(rows, null, 1));
  console.log('accuracy');
  console.table(summarise(rows));
  console.log('macro-F1');
  console.table(summarise(rows, 'macroF1'));
}
