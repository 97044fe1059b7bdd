import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../model/backend.js';
import { decodeBundle } from '../../model/bundle.js';
import {
  Classifier,
  countFeatures,
  defaultSpec,
  defaultTrainOptions,
  fitIdfOn,
  trainClassifier,
  type Checkpoint,
  type Example,
  type ModelSpec,
  type TrainOptions,
} from '../../model/classifier.js';
import { calibrationOf } from '../../model/calibration.js';
import { trainLegacyClassifier } from '../../model/legacyClassifier.js';
import { evaluate } from '../../model/metrics.js';
import { toyExamples, toyOptions, toySpec } from './fixtures/toy.js';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const spec = (): ModelSpec => ({ ...defaultSpec(['ham', 'spam'], false), featurizer: { kind: 'hashed-tfidf', version: 1, dim: 2 ** 12, ngram: 2, maxChars: 1000 } });
const options = (overrides: Partial<TrainOptions> = {}): TrainOptions => ({ ...defaultTrainOptions(42), ...overrides });

/** Three well-separated topics, 20 texts each, from the toy generator's vocabulary idea. */
function threeTopics(count = 60, seed = 1): Example[] {
  const words: Record<string, string[]> = {
    sport: ['match', 'goal', 'team', 'score', 'league', 'coach'],
    money: ['bank', 'loan', 'rate', 'market', 'price', 'stock'],
    food: ['bread', 'soup', 'cheese', 'recipe', 'oven', 'salad'],
  };
  const filler = ['the', 'a', 'today', 'with', 'our', 'new', 'and'];
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = (list: string[]) => list[Math.floor(random() * list.length)];
  const topics = Object.keys(words);
  return Array.from({ length: count }, (_, i) => {
    const topic = topics[i % 3];
    return { text: [pick(words[topic]), pick(filler), pick(words[topic]), pick(filler), pick(words[topics[(i + 1) % 3]])].join(' '), labels: [topic] };
  });
}

describe('trainClassifier (sparse TF-IDF, SVM + NB)', () => {
  it('is deterministic: same examples, options and seed give byte-identical serialised models', async () => {
    const a = await trainClassifier(spec(), toyExamples(80, 3), options());
    const b = await trainClassifier(spec(), toyExamples(80, 3), options());
    expect(sha(a.serialize())).toBe(sha(b.serialize()));
    const c = await trainClassifier(spec(), toyExamples(80, 3), options({ seed: 43 }));
    expect(c.serialize().length).toBeGreaterThan(0);
  });

  it('round-trips through serialize/deserialize with identical predictions and bytes', async () => {
    const clf = await trainClassifier(spec(), toyExamples(80, 3), options());
    const texts = toyExamples(20, 9).map((e) => e.text);
    const copy = Classifier.deserialize(clf.serialize());
    expect(copy.predictProba(texts)).toEqual(clf.predictProba(texts));
    expect(sha(copy.serialize())).toBe(sha(clf.serialize()));
    expect(copy.spec).toEqual(clf.spec);
    expect(copy.info).toEqual(clf.info);
  });

  it('learns the toy task: seeded held-out accuracy and calibrated probabilities', async () => {
    const clf = await trainClassifier(spec(), toyExamples(120, 3), options());
    const test = toyExamples(200, 11);
    const probs = clf.predictProba(test.map((e) => e.text));
    const truth = test.map((e) => e.labels);
    const m = evaluate(truth, probs, clf.spec);
    expect(m.accuracy).toBeGreaterThanOrEqual(0.85);
    for (const row of probs) expect(row[0] + row[1]).toBeCloseTo(1, 6);
    expect(clf.info!.temperature).toBeGreaterThan(0);
    expect(calibrationOf(truth, probs, clf.spec).ece).toBeLessThan(0.15);
  });

  it('handles many classes, including classes without examples', async () => {
    const s = { ...spec(), labels: ['sport', 'money', 'food', 'unused'] };
    const clf = await trainClassifier(s, threeTopics(90, 2), options());
    const test = threeTopics(60, 5);
    const m = evaluate(
      test.map((e) => e.labels),
      clf.predictProba(test.map((e) => e.text)),
      s,
    );
    expect(m.accuracy).toBeGreaterThanOrEqual(0.9);
  });

  it('trains multi-label models with one sigmoid per label', async () => {
    const s: ModelSpec = { ...spec(), labels: ['sport', 'money', 'food'], multiLabel: true };
    const examples = threeTopics(90, 2).map((e, i) => ({ text: e.text, labels: i % 5 === 0 ? [] : i % 7 === 0 ? ['sport', 'food'] : e.labels }));
    const clf = await trainClassifier(s, examples, options());
    const probs = clf.predictProba(['goal match team', 'bank loan rate', 'nothing relevant here']);
    expect(probs[0][0]).toBeGreaterThan(0.5);
    expect(probs[1][1]).toBeGreaterThan(0.5);
    for (const row of probs) {
      for (const p of row) {
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
      }
    }
    expect(clf.info!.nbWeight).toBe(0);
    const copy = Classifier.deserialize(clf.serialize());
    expect(copy.predictProba(['goal match team'])).toEqual([probs[0]]);
  });

  it('epochs 0 gives the untrained model: uniform probabilities', async () => {
    const clf = await trainClassifier(spec(), toyExamples(10), options({ epochs: 0 }));
    expect(clf.predictProba(['win cash now'])).toEqual([[0.5, 0.5]]);
    const empty = await trainClassifier(spec(), [], options({ epochs: 0 }));
    expect(empty.info!.examples).toBe(0);
  });

  it('resuming from any epoch checkpoint gives the same bytes as an uninterrupted run', async () => {
    const opts = options({ tolerance: 0, epochs: 6 });
    const full = await trainClassifier(spec(), toyExamples(80, 3), opts);
    const checkpoints: Checkpoint[] = [];
    const losses: number[] = [];
    await trainClassifier(spec(), toyExamples(80, 3), opts, {
      onEpoch: async ({ epoch, epochs, loss, checkpoint }) => {
        expect(epochs).toBe(6);
        losses.push(loss);
        checkpoints[epoch] = checkpoint();
      },
    });
    expect(losses).toHaveLength(6);
    const resumed = await trainClassifier(spec(), toyExamples(80, 3), opts, { resumeFrom: checkpoints[3] });
    expect(sha(resumed.serialize())).toBe(sha(full.serialize()));
    await expect(trainClassifier(spec(), toyExamples(81, 3), opts, { resumeFrom: checkpoints[3] })).rejects.toThrow(/different spec, example list/);
  });

  it('stops early when converged and reports it', async () => {
    const clf = await trainClassifier(spec(), toyExamples(80, 3), options({ epochs: 200 }));
    expect(clf.info!.converged).toBe(true);
    expect(clf.info!.epochs).toBeLessThan(200);
  });

  it('uses the pool for the IDF, and a precomputed IDF gives the same model', async () => {
    const pool = toyExamples(300, 21).map((e) => e.text);
    const a = await trainClassifier(spec(), toyExamples(40, 3), options(), { pool });
    const b = await trainClassifier(spec(), toyExamples(40, 3), options(), { idf: fitIdfOn(countFeatures(pool, spec())) });
    expect(a.info!.idfDocuments).toBe(300);
    expect(sha(a.serialize())).toBe(sha(b.serialize()));
  });

  it('predictProbaFromCounts equals predictProba; features are L2-normalised TF-IDF rows', async () => {
    const clf = await trainClassifier(spec(), toyExamples(60, 3), options());
    const texts = ['win free cash', 'team meeting agenda', ''];
    expect(clf.predictProbaFromCounts(countFeatures(texts, clf.spec as ModelSpec))).toEqual(clf.predictProba(texts));
    const f = clf.features(texts);
    for (let r = 0; r < 2; r++) {
      let s = 0;
      for (let q = f.rowStart[r]; q < f.rowStart[r + 1]; q++) s += f.vals[q] ** 2;
      expect(s).toBeCloseTo(1, 5);
    }
    expect(f.rowStart[3] - f.rowStart[2]).toBe(0);
  });

  it.each([
    [{ labels: ['a'], multiLabel: false }, /at least two labels/],
    [{ labels: ['a', 'a'], multiLabel: false }, /duplicates/],
  ])('rejects an invalid spec %#', async (partial, message) => {
    await expect(trainClassifier({ ...spec(), ...partial }, toyExamples(4), options())).rejects.toThrow(message);
  });

  it.each([
    [{ C: 0 }, /C must be > 0/],
    [{ nbWeight: 2 }, /nbWeight/],
    [{ epochs: -1 }, /epochs/],
  ])('rejects invalid options %#', async (overrides, message) => {
    await expect(trainClassifier(spec(), toyExamples(4), options(overrides as Partial<TrainOptions>))).rejects.toThrow(message);
  });

  it('rejects unknown labels and empty example lists', async () => {
    await expect(trainClassifier(spec(), [{ text: 'x', labels: ['eggs'] }], options())).rejects.toThrow(/not one of the model's labels/);
    await expect(trainClassifier(spec(), [], options())).rejects.toThrow(/empty example list/);
  });

  it('accepts the v1 option fields (batchSize, learningRate, l2) and ignores them', async () => {
    const a = await trainClassifier(spec(), toyExamples(40, 3), options());
    const b = await trainClassifier(spec(), toyExamples(40, 3), { ...options(), batchSize: 7, learningRate: 0.3, l2: 0.1 });
    expect(sha(a.serialize())).toBe(sha(b.serialize()));
  });

  it('stores sparse weights: one row per bucket seen in training, not per hash bucket', async () => {
    const clf = await trainClassifier(defaultSpec(['ham', 'spam'], false), toyExamples(40, 3), options());
    const { meta, arrays } = decodeBundle<{ version: number }>(clf.serialize());
    expect(meta.version).toBe(2);
    expect(arrays.get('buckets')!.length).toBe(clf.info!.columns);
    expect(clf.info!.columns).toBeLessThan(200);
  });
});

describe('legacy v1 models', () => {
  it('still deserialise through Classifier.deserialize, predict the same, and leak no tensors', async () => {
    await initBackend({ forced: process.env.LABEL_LOOP_TF_BACKEND as never });
    const legacy = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions);
    const texts = toyExamples(10, 5).map((e) => e.text);
    const expected = legacy.predictProba(texts);
    const bytes = legacy.serialize();
    legacy.dispose();
    const before = tf.memory().numTensors;
    const clf = Classifier.deserialize(bytes);
    const during = tf.memory().numTensors;
    expect(clf.predictProba(texts)).toEqual(expected);
    expect(tf.memory().numTensors).toBe(during);
    expect(clf.spec.labels).toEqual(['ham', 'spam']);
    expect(clf.info).toBeNull();
    expect(() => clf.features(texts)).toThrow(/legacy/);
    clf.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
