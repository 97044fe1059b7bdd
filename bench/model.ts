/**
 * Model benchmark: `npx tsx bench/model.ts [--runs 3] [--backends cpu,wasm] [--dim 8192] [--ngram 2]
 * [--hidden 0] [--epochs 5] [--batch 32] [--lr 0.02] [--train 2000]`.
 *
 * For each backend, in a child process of its own (the backend is fixed per process, and peak RSS
 * should not mix backends), reports the median over `runs` of:
 *  - featurize: 10,000 SpamAssassin texts (cycled from the 6,046), in predictProba-sized chunks;
 *  - train: `--train` examples (default 2,000) from a seeded 80% split, including their featurisation;
 *  - predict: predictProba on 10,000 texts (featurisation + head);
 * plus held-out accuracy (the fixed other 20%, 1,210 e-mails) and peak RSS of the process.
 * A training round also exports from Label Studio and writes to PostgreSQL; those are not measured here.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { initBackend } from '../model/backend.js';
import { defaultSpec, defaultTrainOptions, trainClassifier, type ModelSpec, type TrainOptions } from '../model/classifier.js';
import { featurizeInto } from '../model/featurize.js';
import { evaluate } from '../model/metrics.js';
import { mulberry32, shuffleInPlace } from '../model/random.js';
import { loadSpamAssassin } from '../model/spamAssassin.js';

const { values: args } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    backends: { type: 'string', default: 'cpu,wasm' },
    dim: { type: 'string' },
    ngram: { type: 'string' },
    hidden: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    train: { type: 'string', default: '2000' },
  },
});

interface ChildReport {
  backend: string;
  spec: ModelSpec;
  options: TrainOptions;
  trainCount: number;
  /** Medians, ms. */
  featurizeMs: number;
  trainMs: number;
  predictMs: number;
  heldOutAccuracy: number;
  heldOutMacroF1: number;
  /** Peak resident set size of the child, MB. */
  peakRssMb: number;
}

const TASKS = 10_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function child(): Promise<ChildReport> {
  const backend = await initBackend(() => {});
  const runs = Number(args.runs);
  const spec = defaultSpec(['ham', 'spam'], false);
  if (args.dim) spec.featurizer.dim = Number(args.dim);
  if (args.ngram) spec.featurizer.ngram = Number(args.ngram);
  if (args.hidden) spec.hidden = Number(args.hidden);
  const options = defaultTrainOptions(1);
  if (args.epochs) options.epochs = Number(args.epochs);
  if (args.batch) options.batchSize = Number(args.batch);
  if (args.lr) options.learningRate = Number(args.lr);

  const emails = loadSpamAssassin();
  shuffleInPlace(emails, mulberry32(2024));
  const cut = Math.floor(emails.length * 0.8);
  const train = emails.slice(0, Math.min(cut, Number(args.train))).map((e) => ({ text: e.text, labels: [e.label] }));
  const heldOut = emails.slice(cut);
  const tasks = Array.from({ length: TASKS }, (_, i) => emails[i % emails.length].text);

  const featurizeMs: number[] = [];
  const trainMs: number[] = [];
  const predictMs: number[] = [];
  let accuracy = 0;
  let macroF1 = 0;
  const buffer = new Float32Array(256 * spec.featurizer.dim);
  for (let run = 0; run < runs; run++) {
    let start = performance.now();
    for (let i = 0; i < tasks.length; i += 256) featurizeInto(tasks.slice(i, i + 256), spec.featurizer, buffer);
    featurizeMs.push(performance.now() - start);

    start = performance.now();
    const clf = await trainClassifier(spec, train, options);
    trainMs.push(performance.now() - start);

    start = performance.now();
    clf.predictProba(tasks);
    predictMs.push(performance.now() - start);

    const metrics = evaluate(
      heldOut.map((e) => [e.label]),
      clf.predictProba(heldOut.map((e) => e.text)),
      spec,
    );
    accuracy = metrics.accuracy;
    macroF1 = metrics.macroF1;
    clf.dispose();
  }
  return {
    backend,
    spec,
    options,
    trainCount: train.length,
    featurizeMs: median(featurizeMs),
    trainMs: median(trainMs),
    predictMs: median(predictMs),
    heldOutAccuracy: accuracy,
    heldOutMacroF1: macroF1,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

async function parent(): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const forwarded = process.argv.slice(2);
  const reports: ChildReport[] = [];
  for (const backend of args.backends.split(',')) {
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, '--child', ...forwarded], {
        env: { ...process.env, LABEL_LOOP_TF_BACKEND: backend },
        maxBuffer: 1 << 20,
      });
      reports.push(JSON.parse(stdout.trim().split('\n').pop()!));
    } catch (error) {
      console.log(`${backend}: unavailable (${(error as Error).message.split('\n')[0]})`);
    }
  }
  if (reports.length === 0) return;
  const { spec, options, trainCount } = reports[0];
  console.log(
    `spec: dim ${spec.featurizer.dim}, ngram ${spec.featurizer.ngram}, maxChars ${spec.featurizer.maxChars}, hidden ${spec.hidden}; ` +
      `options: epochs ${options.epochs}, batch ${options.batchSize}, lr ${options.learningRate}, l2 ${options.l2}; ` +
      `medians of ${args.runs} runs`,
  );
  console.table(
    Object.fromEntries(
      reports.map((r) => [
        r.backend,
        {
          [`featurize ${TASKS} (ms)`]: Math.round(r.featurizeMs),
          [`train ${trainCount} (ms)`]: Math.round(r.trainMs),
          [`predict ${TASKS} (ms)`]: Math.round(r.predictMs),
          'train+predict (ms)': Math.round(r.trainMs + r.predictMs),
          'held-out acc': Number(r.heldOutAccuracy.toFixed(4)),
          'held-out macroF1': Number(r.heldOutMacroF1.toFixed(4)),
          'peak RSS (MB)': Math.round(r.peakRssMb),
        },
      ]),
    ),
  );
}

if (args.child) {
  process.stdout.write(`${JSON.stringify(await child())}\n`);
} else {
  await parent();
}
