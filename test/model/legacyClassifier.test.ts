import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf, type BackendName } from '../../model/backend.js';
import {
  LegacyClassifier,
  defaultLegacySpec,
  defaultLegacyTrainOptions,
  trainLegacyClassifier,
  type LegacyCheckpoint,
  type LegacyModelSpec,
  type LegacyTrainOptions,
} from '../../model/legacyClassifier.js';
import { evaluate } from '../../model/metrics.js';
import { mulberry32 } from '../../model/random.js';
import { toySpec, toyExamples, toyOptions, sha256 } from './fixtures/toy.js';

let backend: BackendName;
beforeAll(async () => {
  backend = await initBackend({ forced: process.env.LABEL_LOOP_TF_BACKEND as never });
});

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('trainLegacyClassifier', () => {
  it('is deterministic: the same examples and seed give the same bytes', async () => {
    const a = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions);
    const b = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions);
    expect(digest(a.serialize())).toBe(digest(b.serialize()));
    a.dispose();
    b.dispose();
  });

  it.each(['cpu', 'wasm'] as const)('gives the same bytes in separate processes on the %s backend', async (name) => {
    const script = fileURLToPath(new URL('./fixtures/trainToy.ts', import.meta.url));
    const trainInChild = async () =>
      (
        await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, LABEL_LOOP_TF_BACKEND: name } })
      ).stdout.trim();
    const [first, second] = [await trainInChild(), await trainInChild()];
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toBe(first);
    if (name === backend) {
      const clf = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions);
      expect(sha256(clf.serialize())).toBe(first);
      clf.dispose();
    }
  });

  it('depends on the seed', async () => {
    const a = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions);
    const b = await trainLegacyClassifier(toySpec, toyExamples(), { ...toyOptions, seed: toyOptions.seed + 1 });
    expect(digest(a.serialize())).not.toBe(digest(b.serialize()));
    a.dispose();
    b.dispose();
  });

  it('learns the toy problem', async () => {
    const clf = await trainLegacyClassifier(toySpec, toyExamples(200), toyOptions);
    const heldOut = toyExamples(200, 99);
    const m = evaluate(
      heldOut.map((e) => e.labels),
      clf.predictProba(heldOut.map((e) => e.text)),
      clf.spec,
    );
    expect(m.accuracy).toBeGreaterThanOrEqual(0.95);
    clf.dispose();
  });

  it('returns the seeded initial model for epochs = 0, without calling onEpoch', async () => {
    const calls: number[] = [];
    const opts = { ...toyOptions, epochs: 0 };
    const a = await trainLegacyClassifier(toySpec, toyExamples(), opts, { onEpoch: async ({ epoch }) => void calls.push(epoch) });
    const b = await trainLegacyClassifier(toySpec, [], opts);
    expect(calls).toEqual([]);
    expect(digest(a.serialize())).toBe(digest(b.serialize()));
    const probs = a.predictProba(['spam spam', 'ham ham']);
    probs.forEach((row) => expect(row.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5));
    a.dispose();
    b.dispose();
  });

  it('resuming from the checkpoint of epoch k gives the same weights as an uninterrupted run', async () => {
    const checkpoints: LegacyCheckpoint[] = [];
    const losses: number[] = [];
    const full = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions, {
      onEpoch: async ({ checkpoint, loss }) => {
        checkpoints.push(checkpoint());
        losses.push(loss);
      },
    });
    expect(checkpoints.map((c) => c.epoch)).toEqual([1, 2, 3, 4]);
    expect(losses.every(Number.isFinite)).toBe(true);

    for (const k of [1, 3, 4]) {
      const resumedEpochs: number[] = [];
      const resumed = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions, {
        resumeFrom: checkpoints[k - 1],
        onEpoch: async ({ epoch }) => void resumedEpochs.push(epoch),
      });
      expect(resumedEpochs).toEqual([1, 2, 3, 4].filter((e) => e > k));
      expect(digest(resumed.serialize())).toBe(digest(full.serialize()));
      resumed.dispose();
    }
    full.dispose();
  });

  it('resumes exactly after a crash inside onEpoch', async () => {
    let saved: LegacyCheckpoint | undefined;
    await expect(
      trainLegacyClassifier(toySpec, toyExamples(), toyOptions, {
        onEpoch: async ({ epoch, checkpoint }) => {
          saved = checkpoint();
          if (epoch === 2) throw new Error('worker crashed');
        },
      }),
    ).rejects.toThrow('worker crashed');
    const resumed = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions, { resumeFrom: saved });
    const full = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions);
    expect(digest(resumed.serialize())).toBe(digest(full.serialize()));
    resumed.dispose();
    full.dispose();
  });

  it('rejects a checkpoint from a different run', async () => {
    let saved: LegacyCheckpoint | undefined;
    const clf = await trainLegacyClassifier(toySpec, toyExamples(), { ...toyOptions, epochs: 1 }, {
      onEpoch: async ({ checkpoint }) => void (saved = checkpoint()),
    });
    clf.dispose();
    await expect(trainLegacyClassifier(toySpec, toyExamples(30), toyOptions, { resumeFrom: saved })).rejects.toThrow(/different/);
    await expect(trainLegacyClassifier(toySpec, toyExamples(), { ...toyOptions, seed: 1 }, { resumeFrom: saved })).rejects.toThrow(/different/);
  });

  it('rejects a checkpoint from beyond the requested epochs', async () => {
    const checkpoints: LegacyCheckpoint[] = [];
    const clf = await trainLegacyClassifier(toySpec, toyExamples(), toyOptions, {
      onEpoch: async ({ checkpoint }) => void checkpoints.push(checkpoint()),
    });
    clf.dispose();
    const before = tf.memory().numTensors;
    await expect(trainLegacyClassifier(toySpec, toyExamples(), { ...toyOptions, epochs: 2 }, { resumeFrom: checkpoints[3] })).rejects.toThrow(
      /epoch 4, beyond the 2 epochs/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses checkpoint() after its onEpoch hook has settled', async () => {
    let take: (() => LegacyCheckpoint) | undefined;
    const clf = await trainLegacyClassifier(toySpec, toyExamples(), { ...toyOptions, epochs: 1 }, {
      onEpoch: async ({ checkpoint }) => void (take = checkpoint),
    });
    expect(() => take!()).toThrow(/after its onEpoch hook settled/);
    clf.dispose();
  });

  it.each([
    ['an unknown label', [{ text: 'x', labels: ['eggs'] }], /"eggs", which is not one of the model's labels/],
    ['two labels in a single-label model', [{ text: 'x', labels: ['spam', 'ham'] }], /exactly one/],
    ['no label in a single-label model', [{ text: 'x', labels: [] }], /exactly one/],
    ['an empty example list', [], /empty example list/],
  ])('throws on %s', async (_name, examples, message) => {
    await expect(trainLegacyClassifier(toySpec, examples, toyOptions)).rejects.toThrow(message);
  });

  it.each([
    ['negative epochs', { epochs: -1 }],
    ['fractional batch size', { batchSize: 2.5 }],
    ['zero learning rate', { learningRate: 0 }],
    ['negative l2', { l2: -1 }],
    ['non-integer seed', { seed: 0.5 }],
  ])('throws on %s', async (_name, change) => {
    await expect(trainLegacyClassifier(toySpec, toyExamples(), { ...toyOptions, ...change } as LegacyTrainOptions)).rejects.toThrow();
  });

  it('leaks no tensors across training and dispose', async () => {
    const before = tf.memory().numTensors;
    const clf = await trainLegacyClassifier({ ...toySpec, hidden: 4 }, toyExamples(), toyOptions);
    clf.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('weights classes so a 9:1 minority is still found', async () => {
    // 100 ham, 12 spam. Measured spam F1 on this data: 0.81 with class weights, 0.36 without.
    const examples = toyExamples(200).filter((e, i) => e.labels[0] === 'ham' || i % 9 === 1);
    expect(examples.filter((e) => e.labels[0] === 'spam')).toHaveLength(12);
    const clf = await trainLegacyClassifier(toySpec, examples, toyOptions);
    const heldOut = toyExamples(200, 7);
    const m = evaluate(
      heldOut.map((e) => e.labels),
      clf.predictProba(heldOut.map((e) => e.text)),
      clf.spec,
    );
    expect(m.perClassF1.spam).toBeGreaterThanOrEqual(0.7);
    clf.dispose();
  });
});

describe('LegacyClassifier', () => {
  it('round-trips through serialize/deserialize with identical probabilities', async () => {
    const clf = await trainLegacyClassifier({ ...toySpec, hidden: 3 }, toyExamples(), toyOptions);
    const bytes = clf.serialize();
    const copy = LegacyClassifier.deserialize(bytes.slice()); // a copy, as read back from a database
    const texts = toyExamples(10, 5).map((e) => e.text);
    expect(copy.spec).toEqual(clf.spec);
    expect(copy.predictProba(texts)).toEqual(clf.predictProba(texts));
    expect(digest(copy.serialize())).toBe(digest(bytes));
    clf.dispose();
    copy.dispose();
  });

  it('deserialises from an unaligned view inside a larger buffer', async () => {
    const clf = await trainLegacyClassifier(toySpec, toyExamples(), { ...toyOptions, epochs: 1 });
    const bytes = clf.serialize();
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const copy = LegacyClassifier.deserialize(padded.subarray(3));
    expect(copy.predictProba(['spam'])).toEqual(clf.predictProba(['spam']));
    clf.dispose();
    copy.dispose();
  });

  it.each([
    ['empty bytes', new Uint8Array(0)],
    ['foreign bytes', new TextEncoder().encode('{"not":"a model"}')],
  ])('rejects %s', (_name, bytes) => {
    expect(() => LegacyClassifier.deserialize(bytes)).toThrow(/bundle/);
  });

  it('rejects truncated bytes', async () => {
    const clf = await trainLegacyClassifier(toySpec, toyExamples(), { ...toyOptions, epochs: 0 });
    const bytes = clf.serialize();
    clf.dispose();
    expect(() => LegacyClassifier.deserialize(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
  });

  it.each([
    ['single-label', toySpec],
    ['multi-label with a hidden layer', { ...toySpec, multiLabel: true, hidden: 4 }],
  ])('%s predictProba leaks no tensors, over several chunks', async (_name, spec: LegacyModelSpec) => {
    const clf = await trainLegacyClassifier(spec, toyExamples(), { ...toyOptions, epochs: 1 });
    const texts = toyExamples(700, 3).map((e) => e.text); // > 2 chunks of 256
    const before = tf.memory().numTensors;
    const probs = clf.predictProba(texts);
    expect(tf.memory().numTensors).toBe(before);
    expect(probs).toHaveLength(700);
    expect(probs.every((row) => row.length === spec.labels.length && row.every((p) => p >= 0 && p <= 1))).toBe(true);
    expect(clf.predictProba([])).toEqual([]);
    clf.dispose();
  });

  it('refuses to predict after dispose', async () => {
    const clf = await trainLegacyClassifier(toySpec, toyExamples(), { ...toyOptions, epochs: 0 });
    clf.dispose();
    clf.dispose();
    expect(() => clf.predictProba(['x'])).toThrow(/disposed/);
  });
});

describe('multi-label', () => {
  const labels = ['sports', 'politics', 'tech'];
  const cue: Record<string, string[]> = {
    sports: ['match', 'goal', 'team', 'league'],
    politics: ['vote', 'senate', 'election', 'policy'],
    tech: ['software', 'chip', 'startup', 'cloud'],
  };
  const filler = ['today', 'report', 'people', 'said', 'new', 'week', 'city', 'big'];
  // Every subset of labels, including none; the text mixes one random cue word per label with filler.
  const subsets = [[], ['sports'], ['politics'], ['tech'], ['sports', 'politics'], ['sports', 'tech'], ['politics', 'tech'], labels];
  const make = (count: number, seed: number) => {
    const random = mulberry32(seed);
    const pick = (words: string[]) => words[Math.floor(random() * words.length)];
    return Array.from({ length: count }, (_, i) => {
      const set = subsets[i % subsets.length];
      const words = set.map((label) => pick(cue[label]));
      for (let k = 0; k < 4; k++) words.push(pick(filler));
      words.sort(); // order carries no information
      return { text: words.join(' '), labels: set };
    });
  };

  it('learns a separable toy problem with sigmoid outputs', async () => {
    // Unigrams in 4,096 buckets: no cue word collides with another word (at 512 "software" and "said" do).
    const spec = defaultLegacySpec(labels, true);
    spec.featurizer = { ...spec.featurizer, dim: 4096, ngram: 1 };
    const clf = await trainLegacyClassifier(spec, make(400, 0), { ...defaultLegacyTrainOptions(3), epochs: 10, batchSize: 16, learningRate: 0.05 });
    const heldOut = make(200, 1);
    const probs = clf.predictProba(heldOut.map((e) => e.text));
    const m = evaluate(
      heldOut.map((e) => e.labels),
      probs,
      spec,
    );
    expect(m.accuracy).toBeGreaterThanOrEqual(0.95);
    // independent sigmoids: rows need not sum to 1; the empty set is a valid answer
    expect(probs.some((row) => Math.abs(row.reduce((s, p) => s + p, 0) - 1) > 0.2)).toBe(true);
    clf.dispose();
  });
});

describe('defaults', () => {
  it('defaultLegacySpec validates its labels', () => {
    expect(defaultLegacySpec(['ham', 'spam'], false).hidden).toBe(0);
    expect(() => defaultLegacySpec(['only'], false)).toThrow(/at least two/);
    expect(() => defaultLegacySpec(['a', 'a'], false)).toThrow(/duplicates/);
    expect(() => defaultLegacySpec(['a', ''], true)).toThrow(/non-empty/);
    expect(defaultLegacySpec(['only'], true).labels).toEqual(['only']);
  });

  it('defaultLegacyTrainOptions carries the seed', () => {
    expect(defaultLegacyTrainOptions(7).seed).toBe(7);
  });
});
