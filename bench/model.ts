/**
 * Model micro-benchmark: `npx tsx bench/model.ts [--runs 3] [--dataset spam|brown] [--train 2000]
 * [--predict 10000] [--dim 262144] [--ngram 2]`.
 *
 * Reports medians over `runs` (after one warm-up run) of wall-clock and process CPU time for:
 *  - featurize: n-gram counting of `--predict` texts (cycled from the data set);
 *  - train: trainClassifier on the first `--train` pool items (featurising them, IDF on them);
 *  - predict: predictProba on the `--predict` texts (featurisation included);
 * plus test accuracy on the fixed test split and peak RSS. Ratios against scikit-learn are in
 * bench/labelEfficiency.ts (part "speed"), which runs both in the same process tree.
 */
import { parseArgs } from 'node:util';
import { holdOut, loadDataset, type DatasetName } from './datasets/index.js';
import { countFeatures, defaultSpec, defaultTrainOptions, trainClassifier } from '../model/classifier.js';
import { evaluate } from '../model/metrics.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    dataset: { type: 'string', default: 'spam' },
    train: { type: 'string', default: '2000' },
    predict: { type: 'string', default: '10000' },
    dim: { type: 'string' },
    ngram: { type: 'string' },
  },
});

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];

const dataset = loadDataset(args.dataset as DatasetName);
const { pool, test } = holdOut(dataset);
const spec = defaultSpec(dataset.labels, false);
if (args.dim) spec.featurizer.dim = Number(args.dim);
if (args.ngram) spec.featurizer.ngram = Number(args.ngram);
const examples = pool.slice(0, Number(args.train)).map((i) => ({ text: i.text, labels: [i.label] }));
const all = [...pool, ...test];
const texts = Array.from({ length: Number(args.predict) }, (_, i) => all[i % all.length].text);
const times: Record<string, { wall: number[]; cpu: number[] }> = { featurize: { wall: [], cpu: [] }, train: { wall: [], cpu: [] }, predict: { wall: [], cpu: [] } };
const measure = <T>(name: string, warm: boolean, fn: () => T): T => {
  const w = performance.now();
  const c = cpu();
  const result = fn();
  if (!warm) {
    times[name].wall.push(performance.now() - w);
    times[name].cpu.push(cpu() - c);
  }
  return result;
};
let accuracy = 0;
for (let run = 0; run <= Number(args.runs); run++) {
  const warm = run === 0;
  measure('featurize', warm, () => countFeatures(texts, spec));
  const w = performance.now();
  const c = cpu();
  const clf = await trainClassifier(spec, examples, defaultTrainOptions(1));
  if (!warm) {
    times.train.wall.push(performance.now() - w);
    times.train.cpu.push(cpu() - c);
  }
  measure('predict', warm, () => clf.predictProba(texts));
  accuracy = evaluate(
    test.map((i) => [i.label]),
    clf.predictProba(test.map((i) => i.text)),
    spec,
  ).accuracy;
}
console.log(`${args.dataset}: dim ${spec.featurizer.dim}, ngram ${spec.featurizer.ngram}; medians of ${args.runs} runs (ms)`);
console.table(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { wall: Math.round(median(v.wall)), cpu: Math.round(median(v.cpu)) }])));
console.log(`test accuracy ${accuracy.toFixed(4)}, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
