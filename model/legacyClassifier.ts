/**
 * LEGACY (bundle kind label-loop/classifier v1): the classifier Label Loop shipped before the sparse
 * TF-IDF model in classifier.ts. Kept so that models stored by earlier versions still load
 * (`Classifier.deserialize` delegates v1 bundles here) and as the "legacy" row of the benchmarks.
 * New models are never trained with it by the loop.
 *
 * Text classifier: hashed bag-of-words features (featurize.ts, plain JS) → a compact tfjs-core head
 * (softmax / sigmoid regression by default, optionally one ReLU hidden layer), trained by AdamW.
 *
 * Defaults, measured with `npx tsx bench/model.ts --runs 5` on the 2-core dev machine (Node 20,
 * tfjs 4.22, SpamAssassin e-mails, medians, held-out = a fixed 20% = 1,210 e-mails; other work shared
 * the cores, so treat figures as ±20%):
 *
 *   dim 2^13, unigrams, maxChars 20,000, hidden 0; epochs 5, batch 32, learning rate 0.02, l2 1e-4
 *
 *             featurize 10k   train 2,000   predict 10k   held-out accuracy   peak RSS
 *     wasm       0.60 s          0.69 s        0.69 s          0.979            262 MB
 *     cpu        0.75 s          1.49 s        1.30 s          0.979            243 MB
 *   Training on all 4,836 training e-mails (the demo): wasm 1.8 s, cpu 3.6 s, held-out accuracy 0.987,
 *   peak RSS 283 / 254 MB. "train" includes featurising the examples, "predict" the texts.
 *
 * So a round with 2,000 labels and 10,000 tasks spends ~1.4 s (wasm) / ~2.8 s (cpu) here, well
 * inside its 15 s budget. Alternatives measured (wasm, 2,000 examples, accuracy averaged over 3-5
 * seeded 80/20 splits; one split's held-out accuracy varies by ±0.4 pt):
 *   - dim 2^12: train 0.55 s, −0.3 pt. dim 2^14: train 1.4 s, +0.25 pt.
 *   - unigrams + bigrams (ngram 2) at 2^13: −0.4 pt (more bucket collisions), featurising ~15% slower.
 *   - hidden 16: train 2.3 s (wasm) / 9.8 s (cpu), no gain over the linear head.
 *   - maxChars 5,000 or 100,000: no measurable change; 20,000 bounds the cost of 300 kB outliers.
 *   - 10 epochs instead of 5: ≤ +0.1 pt for twice the training time.
 *   - l2 0 … 1e-3: no measurable change at 5 epochs; 1e-4 is a gentle guard for longer runs.
 *   - sparse maths in tfjs (tf.gather + tf.scatterND instead of dense matMuls): 3x (wasm) to 5x (cpu)
 *     slower per step, the scatter kernels dominate. So batches are multiplied dense (rows are ~8%
 *     non-zero at 2^13); the training set is only stored sparse between batches, to save memory.
 */
import { encodeBundle, decodeBundle, float32Of, type BundleArray } from './bundle.js';
import { initBackend, tf } from './backend.js';
import {
  defaultFeaturizerConfig,
  densifyRows,
  featurizeInto,
  featurizeSparse,
  validateFeaturizerConfig,
  type FeaturizerConfig,
} from './featurize.js';
import { labelColumns, type Example } from './examples.js';
import { deriveSeed, mulberry32, shuffleInPlace } from './random.js';

export interface LegacyModelSpec {
  /** Output classes, in output-column order. Unique, non-empty. */
  labels: string[];
  /** true: independent sigmoid per label (any subset); false: softmax over labels (exactly one). */
  multiLabel: boolean;
  featurizer: FeaturizerConfig;
  /** Width of the ReLU hidden layer; 0 = linear model (softmax / logistic regression). */
  hidden: number;
}

export interface LegacyTrainOptions {
  /** Drives initial weights and the batch order of every epoch. Any safe integer. */
  seed: number;
  /** Full passes over the examples; 0 returns the seeded, untrained initial model. */
  epochs: number;
  batchSize: number;
  /** AdamW step size. */
  learningRate: number;
  /** Decoupled weight decay on weight matrices (not biases): each step W ← W − learningRate·l2·W. */
  l2: number;
}

/** A labelled text (model/examples.ts). */
export type LegacyExample = Example;

/** Training state after `epoch` completed epochs: weights, AdamW moments and step count, so resuming is exact. */
export interface LegacyCheckpoint {
  epoch: number;
  state: Uint8Array;
}

export interface LegacyEpochInfo {
  /** Completed epochs, 1-based. */
  epoch: number;
  epochs: number;
  /** Mean class-weighted cross-entropy (nats) over this epoch's batches, excluding weight decay. */
  loss: number;
  /** Snapshot of the state after this epoch. Call it before the onEpoch promise settles. */
  checkpoint: () => LegacyCheckpoint;
}

export interface LegacyTrainHooks {
  /** Continue a run with the same spec, examples and options from this checkpoint. */
  resumeFrom?: LegacyCheckpoint;
  /** Awaited after every epoch (heartbeats, checkpoint persistence). */
  onEpoch?: (info: LegacyEpochInfo) => Promise<void>;
}

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-7;
/** Inverse-frequency class weights are clipped to [1/MAX, MAX] so a class with a handful of examples cannot dominate. */
const MAX_CLASS_WEIGHT = 10;
/** Rows featurised and scored per tfjs call in predictProba: bounds memory at PREDICT_CHUNK × dim floats. */
const PREDICT_CHUNK = 256;
/**
 * Training holds parameters + two AdamW moments (3 × 4 bytes each), and the wasm heap is capped at
 * 2-4 GB; 2^25 parameters (384 MB of state) is far beyond anything that trains in a round's budget.
 */
const MAX_PARAMETERS = 2 ** 25;

const CLASSIFIER_KIND = 'label-loop/classifier';
const CHECKPOINT_KIND = 'label-loop/checkpoint';

export function defaultLegacySpec(labels: string[], multiLabel: boolean): LegacyModelSpec {
  const spec: LegacyModelSpec = { labels: [...labels], multiLabel, featurizer: defaultFeaturizerConfig(), hidden: 0 };
  validateSpec(spec);
  return spec;
}

export function defaultLegacyTrainOptions(seed: number): LegacyTrainOptions {
  return { seed, epochs: 5, batchSize: 32, learningRate: 0.02, l2: 1e-4 };
}

/** Module-private factory, so only training and deserialisation can wrap raw weight tensors. */
let createLegacyClassifier: (spec: LegacyModelSpec, params: tf.Tensor[]) => LegacyClassifier;

/**
 * A trained (or seeded, untrained) model: spec + weight tensors on the current tfjs backend. Call
 * `await initBackend()` once at process start before deserialising or predicting (trainLegacyClassifier
 * does it itself), otherwise tfjs silently picks cpu. Synchronous inference, so a request handler can
 * use one instance without interleaving; call dispose() when replacing it.
 */
export class LegacyClassifier {
  /** Frozen: the weights were trained for exactly these labels and features. */
  readonly spec: LegacyModelSpec;
  /** Weight tensors in `parameterShapes(spec)` order; owned by this instance. */
  #params: tf.Tensor[] | null;

  static {
    createLegacyClassifier = (spec, params) => new LegacyClassifier(spec, params);
  }

  private constructor(spec: LegacyModelSpec, params: tf.Tensor[]) {
    const frozen = canonicalSpec(spec);
    Object.freeze(frozen.labels);
    Object.freeze(frozen.featurizer);
    this.spec = Object.freeze(frozen);
    this.#params = params;
  }

  /**
   * Probabilities, shape [texts.length][labels.length]: softmax rows summing to 1 (single-label) or
   * independent sigmoids (multi-label). Texts are featurised and scored PREDICT_CHUNK at a time; no
   * tensors outlive the call.
   */
  predictProba(texts: string[]): number[][] {
    const params = this.#live();
    const { dim } = this.spec.featurizer;
    const rows: number[][] = [];
    // One buffer for all chunks: the tensor built on it is disposed before the next chunk overwrites it.
    const buffer = new Float32Array(Math.min(texts.length, PREDICT_CHUNK) * dim);
    for (let start = 0; start < texts.length; start += PREDICT_CHUNK) {
      const chunk = texts.slice(start, start + PREDICT_CHUNK);
      const features = featurizeInto(chunk, this.spec.featurizer, buffer);
      const probs = tf.tidy(() => {
        const logits = forward(params, tf.tensor2d(features, [chunk.length, dim]), this.spec.hidden).logits;
        return this.spec.multiLabel ? tf.sigmoid(logits) : tf.softmax(logits);
      });
      const values = probs.dataSync();
      probs.dispose();
      const width = this.spec.labels.length;
      for (let row = 0; row < chunk.length; row++) rows.push(Array.from(values.subarray(row * width, (row + 1) * width)));
    }
    return rows;
  }

  /** Spec + weights as one self-describing byte string (see bundle.ts). Equal models give equal bytes. */
  serialize(): Uint8Array {
    const params = this.#live();
    const names = parameterShapes(this.spec).map(([name]) => name);
    return encodeBundle(
      { kind: CLASSIFIER_KIND, version: 1, spec: this.spec },
      names.map((name, i) => [name, params[i].dataSync() as Float32Array] as const),
    );
  }

  static deserialize(bytes: Uint8Array): LegacyClassifier {
    const { meta, arrays } = decodeBundle<{ kind: string; version: number; spec: LegacyModelSpec }>(bytes);
    if (meta?.kind !== CLASSIFIER_KIND || meta.version !== 1) {
      throw new Error(`not a serialised classifier (kind ${String(meta?.kind)}, version ${String(meta?.version)})`);
    }
    validateSpec(meta.spec);
    const spec = canonicalSpec(meta.spec);
    const shapes = parameterShapes(spec);
    return new LegacyClassifier(spec, arraysFor(spec, arrays, '').map((values, i) => tf.tensor(values, shapes[i][1])));
  }

  /** Frees the weight tensors; the instance is unusable afterwards. Safe to call twice. */
  dispose(): void {
    this.#params?.forEach((tensor) => tensor.dispose());
    this.#params = null;
  }

  #live(): tf.Tensor[] {
    if (this.#params === null) throw new Error('classifier has been disposed');
    return this.#params;
  }
}

/**
 * Trains a classifier. Deterministic: the same spec, examples (in the same order), options and backend
 * give bit-identical weights, and resuming from the checkpoint of epoch k gives the same result as an
 * uninterrupted run. Throws on invalid input (unknown labels, bad options, empty example list).
 */
export async function trainLegacyClassifier(
  spec: LegacyModelSpec,
  examples: LegacyExample[],
  opts: LegacyTrainOptions,
  hooks: LegacyTrainHooks = {},
): Promise<LegacyClassifier> {
  validateSpec(spec);
  validateTrainOptions(opts);
  const targets = encodeTargets(spec, examples);
  if (examples.length === 0 && opts.epochs > 0) throw new Error('cannot train on an empty example list');
  await initBackend();

  const fingerprint = trainingFingerprint(spec, examples, opts);
  let state: TrainingState;
  if (hooks.resumeFrom) {
    state = restoreState(hooks.resumeFrom, spec, fingerprint);
  } else {
    state = initialState(spec, opts.seed);
  }
  if (state.epoch > opts.epochs) {
    tf.dispose(state.tensors);
    throw new Error(`resumeFrom is a checkpoint of epoch ${state.epoch}, beyond the ${opts.epochs} epochs requested`);
  }
  if (state.epoch === opts.epochs) return finish(spec, state);

  try {
    const { dim } = spec.featurizer;
    const width = spec.labels.length;
    // Held sparse (~8 bytes per non-zero) and densified one batch at a time, so memory grows with
    // the text in the examples rather than with examples × dim.
    const features = featurizeSparse(
      examples.map((example) => example.text),
      spec.featurizer,
    );
    const order = new Int32Array(examples.length);
    // Batch buffers reused across steps (fresh allocations page-fault); each step's tensors are
    // disposed before the next step overwrites them.
    const batchSize = Math.min(opts.batchSize, examples.length);
    const batchX = new Float32Array(batchSize * dim);
    const batchY = new Float32Array(batchSize * width);
    const batchW = new Float32Array(batchSize * width);
    for (let epoch = state.epoch + 1; epoch <= opts.epochs; epoch++) {
      // The order of epoch e depends only on (seed, e), so a resumed run replays the same batches.
      for (let i = 0; i < order.length; i++) order[i] = i;
      shuffleInPlace(order, mulberry32(deriveSeed(opts.seed, epoch, 0x5eed)));
      let lossSum = 0;
      let batches = 0;
      for (let start = 0; start < order.length; start += batchSize) {
        const rows = order.subarray(start, Math.min(start + batchSize, order.length));
        densifyRows(features, rows, batchX);
        rows.forEach((row, r) => {
          batchY.set(targets.y.subarray(row * width, (row + 1) * width), r * width);
          batchW.set(targets.weight.subarray(row * width, (row + 1) * width), r * width);
        });
        const n = rows.length;
        lossSum += trainStep(spec, state, opts, batchX.subarray(0, n * dim), batchY.subarray(0, n * width), batchW.subarray(0, n * width), n);
        batches++;
      }
      state.epoch = epoch;
      if (hooks.onEpoch) {
        let open = true;
        const checkpoint = (): LegacyCheckpoint => {
          if (!open) throw new Error(`checkpoint() for epoch ${epoch} called after its onEpoch hook settled`);
          return { epoch, state: encodeState(spec, state, fingerprint) };
        };
        try {
          await hooks.onEpoch({ epoch, epochs: opts.epochs, loss: lossSum / batches, checkpoint });
        } finally {
          open = false;
        }
      } else {
        // Let timers and I/O (e.g. activity heartbeats) run between epochs even without a hook.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } catch (error) {
    tf.dispose(state.tensors);
    throw error;
  }
  return finish(spec, state);
}

// ---------------------------------------------------------------------------------------------
// Model maths. Shapes: B = batch rows, D = featurizer.dim, H = hidden width, L = labels.length.
// tfjs-core's Node bundle registers no gradient functions (they ship with the union `@tensorflow/tfjs`
// package), so the backward pass of this two-layer head is written out by hand.

/** Parameter names and shapes in storage order. */
function parameterShapes(spec: LegacyModelSpec): [string, number[]][] {
  const D = spec.featurizer.dim;
  const L = spec.labels.length;
  if (spec.hidden === 0) return [['output/kernel', [D, L]], ['output/bias', [L]]];
  const H = spec.hidden;
  return [
    ['hidden/kernel', [D, H]],
    ['hidden/bias', [H]],
    ['output/kernel', [H, L]],
    ['output/bias', [L]],
  ];
}

interface Forward {
  /** [B, L] */
  logits: tf.Tensor2D;
  /** [B, H] pre-activation of the hidden layer (MLP only). */
  hiddenPre?: tf.Tensor2D;
  /** [B, H] ReLU output (MLP only). */
  hiddenOut?: tf.Tensor2D;
}

/** x: [B, D] features → logits [B, L]. Call inside tf.tidy. */
function forward(params: tf.Tensor[], x: tf.Tensor2D, hidden: number): Forward {
  if (hidden === 0) {
    return { logits: tf.add(tf.matMul(x, params[0] as tf.Tensor2D), params[1]) };
  }
  const hiddenPre = tf.add(tf.matMul(x, params[0] as tf.Tensor2D), params[1]) as tf.Tensor2D;
  const hiddenOut = tf.relu(hiddenPre);
  const logits = tf.add(tf.matMul(hiddenOut, params[2] as tf.Tensor2D), params[3]) as tf.Tensor2D;
  return { logits, hiddenPre, hiddenOut };
}

/**
 * Training state. The float32 arrays are the master copy of every number; `tensors` mirrors `values`
 * on the tfjs backend for the forward/backward matMuls and is rebuilt after each step.
 *
 * Why AdamW runs in plain JS rather than as tfjs ops: the cpu backend's elementwise kernels take a
 * slow broadcasting path for tensor-scalar ops (~0.2 ms per op on a 2^13 × 2 kernel), and Adam needs
 * ~14 of them per parameter per step, which was ~40% of a cpu training step. The JS loop costs
 * ~0.05 ms, does the same float64-then-float32 arithmetic on every backend, and makes checkpoints a
 * plain copy of arrays, so resuming is bit-exact by construction.
 */
interface TrainingState {
  /** Completed epochs. */
  epoch: number;
  /** Completed optimizer steps (AdamW's t). */
  step: number;
  /** Parameters in `parameterShapes` order. */
  values: Float32Array[];
  /** AdamW first and second moments, one per parameter, same sizes. */
  m: Float32Array[];
  v: Float32Array[];
  tensors: tf.Tensor[];
}

/**
 * One AdamW step on a batch; returns the batch loss (nats).
 * batchX [B, D]; batchY [B, L] one-hot / multi-hot targets; batchW [B, L] per-entry loss weights.
 */
function trainStep(
  spec: LegacyModelSpec,
  state: TrainingState,
  opts: LegacyTrainOptions,
  batchX: Float32Array,
  batchY: Float32Array,
  batchW: Float32Array,
  rows: number,
): number {
  const D = spec.featurizer.dim;
  const L = spec.labels.length;
  const { loss, grads } = tf.tidy(() => {
    const x = tf.tensor2d(batchX, [rows, D]);
    const y = tf.tensor2d(batchY, [rows, L]);
    const w = tf.tensor2d(batchW, [rows, L]);
    const { logits, hiddenPre, hiddenOut } = forward(state.tensors, x, spec.hidden);

    let lossValue: tf.Scalar;
    let dLogits: tf.Tensor2D; // ∂loss/∂logits, [B, L]
    if (spec.multiLabel) {
      // Mean over rows and labels of weighted binary cross-entropy, in the overflow-safe form
      // max(z, 0) − z·y + ln(1 + e^−|z|).
      const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
      lossValue = tf.div(tf.sum(tf.mul(w, bce)), rows * L);
      dLogits = tf.div(tf.mul(w, tf.sub(tf.sigmoid(logits), y)), rows * L);
    } else {
      // Softmax cross-entropy; the row's class weight is repeated across its L entries of w.
      const logProbs = tf.logSoftmax(logits);
      lossValue = tf.div(tf.neg(tf.sum(tf.mul(tf.mul(w, y), logProbs))), rows);
      dLogits = tf.div(tf.mul(w, tf.sub(tf.exp(logProbs), y)), rows);
    }

    if (spec.hidden === 0) {
      return { loss: lossValue, grads: [transposedMatMul(x, dLogits), tf.sum(dLogits, 0)] };
    }
    const dHiddenOut = tf.matMul(dLogits, state.tensors[2] as tf.Tensor2D, false, true); // [B, H]
    const dHiddenPre = tf.mul(dHiddenOut, tf.step(hiddenPre!)) as tf.Tensor2D; // ReLU'(z) = 1 for z > 0, else 0
    return {
      loss: lossValue,
      grads: [
        transposedMatMul(x, dHiddenPre), // [D, H]
        tf.sum(dHiddenPre, 0), // [H]
        tf.matMul(hiddenOut!, dLogits, true, false), // [H, L]
        tf.sum(dLogits, 0), // [L]
      ],
    };
  });
  const lossValue = loss.dataSync()[0];
  const gradValues = grads.map((g) => g.dataSync() as Float32Array);
  if (!Number.isFinite(lossValue)) {
    tf.dispose([loss, ...grads]);
    throw new Error(`training diverged at step ${state.step + 1} (loss ${lossValue}); lower the learning rate`);
  }
  applyAdamW(state, gradValues, opts, parameterShapes(spec).map(([, shape]) => shape.length === 2));
  tf.dispose([loss, ...grads]);
  refreshTensors(spec, state);
  return lossValue;
}

/**
 * aᵀ·b for a [B, D] batch and b [B, K]: the kernel gradient, [D, K]. Measured per step at B 32,
 * D 2^13, K 2: wasm matMul(transposeA) 1.6 ms vs explicit transpose + matMul 0.8 ms; on cpu
 * tf.transpose alone costs 12 ms while matMul(transposeA) takes 2.3 ms. Hence one path per backend.
 */
function transposedMatMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.getBackend() === 'wasm' ? tf.matMul(tf.transpose(a), b) : tf.matMul(a, b, true, false);
}

/**
 * AdamW (Loshchilov & Hutter) with bias correction, in place on state.values / m / v:
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
 *   p ← p − lr·( (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε) + l2·p )   [l2 term for kernels only].
 * Every term depends only on stored float32 values and the step count, so resuming is exact.
 */
function applyAdamW(state: TrainingState, grads: Float32Array[], opts: LegacyTrainOptions, isKernel: boolean[]): void {
  state.step++;
  const t = state.step;
  const firstMomentScale = 1 / (1 - ADAM_BETA1 ** t);
  const secondMomentScale = 1 / (1 - ADAM_BETA2 ** t);
  const lr = opts.learningRate;
  state.values.forEach((p, i) => {
    const g = grads[i];
    const m = state.m[i];
    const v = state.v[i];
    const decay = isKernel[i] ? opts.l2 : 0;
    for (let k = 0; k < p.length; k++) {
      const gk = g[k];
      const mk = ADAM_BETA1 * m[k] + (1 - ADAM_BETA1) * gk;
      const vk = ADAM_BETA2 * v[k] + (1 - ADAM_BETA2) * gk * gk;
      m[k] = mk;
      v[k] = vk;
      p[k] -= lr * ((mk * firstMomentScale) / (Math.sqrt(vk * secondMomentScale) + ADAM_EPSILON) + decay * p[k]);
    }
  });
}

/** Re-uploads the parameter values. Copies, because the cpu backend would otherwise alias the arrays we mutate. */
function refreshTensors(spec: LegacyModelSpec, state: TrainingState): void {
  tf.dispose(state.tensors);
  state.tensors = parameterShapes(spec).map(([, shape], i) => tf.tensor(state.values[i].slice(), shape));
}

/** Seeded initial weights: Glorot-uniform kernels (He-uniform for the ReLU layer), zero biases. */
function initialState(spec: LegacyModelSpec, seed: number): TrainingState {
  const random = mulberry32(deriveSeed(seed, 0x1417));
  const shapes = parameterShapes(spec);
  const values = shapes.map(([name, shape]) => {
    const array = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (shape.length === 2) {
      const [fanIn, fanOut] = shape;
      const limit = name.startsWith('hidden/') ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < array.length; i++) array[i] = (2 * random() - 1) * limit;
    }
    return array;
  });
  const state: TrainingState = {
    epoch: 0,
    step: 0,
    values,
    m: values.map((p) => new Float32Array(p.length)),
    v: values.map((p) => new Float32Array(p.length)),
    tensors: [],
  };
  refreshTensors(spec, state);
  return state;
}

/** Hands the weight tensors to a LegacyClassifier. */
function finish(spec: LegacyModelSpec, state: TrainingState): LegacyClassifier {
  return createLegacyClassifier(spec, state.tensors);
}

interface CheckpointMeta {
  kind: string;
  version: number;
  epoch: number;
  step: number;
  fingerprint: string;
}

function encodeState(spec: LegacyModelSpec, state: TrainingState, fingerprint: string): Uint8Array {
  const names = parameterShapes(spec).map(([name]) => name);
  const meta: CheckpointMeta = { kind: CHECKPOINT_KIND, version: 1, epoch: state.epoch, step: state.step, fingerprint };
  return encodeBundle(meta, [
    ...names.map((name, i) => [name, state.values[i]] as const),
    ...names.map((name, i) => [`adam/m/${name}`, state.m[i]] as const),
    ...names.map((name, i) => [`adam/v/${name}`, state.v[i]] as const),
  ]);
}

function restoreState(checkpoint: LegacyCheckpoint, spec: LegacyModelSpec, fingerprint: string): TrainingState {
  const { meta, arrays } = decodeBundle<CheckpointMeta>(checkpoint.state);
  if (meta?.kind !== CHECKPOINT_KIND || meta.version !== 1) throw new Error('resumeFrom is not a training checkpoint');
  if (meta.fingerprint !== fingerprint) {
    throw new Error('resumeFrom checkpoint was made with a different spec, example list or training options');
  }
  if (meta.epoch !== checkpoint.epoch) throw new Error(`checkpoint says epoch ${meta.epoch} but is labelled ${checkpoint.epoch}`);
  const state: TrainingState = {
    epoch: meta.epoch,
    step: meta.step,
    values: arraysFor(spec, arrays, ''),
    m: arraysFor(spec, arrays, 'adam/m/'),
    v: arraysFor(spec, arrays, 'adam/v/'),
    tensors: [],
  };
  refreshTensors(spec, state);
  return state;
}

/** The bundle's arrays named `prefix + parameter name`, in parameter order, checked against the spec's shapes. */
function arraysFor(spec: LegacyModelSpec, arrays: Map<string, BundleArray>, prefix: string): Float32Array[] {
  return parameterShapes(spec).map(([name, shape]) => float32Of(arrays, prefix + name, shape.reduce((a, b) => a * b, 1)));
}

// ---------------------------------------------------------------------------------------------
// Targets and class weights.

interface Targets {
  /** [N, L] one-hot (single-label) or multi-hot (multi-label) targets. */
  y: Float32Array;
  /** [N, L] loss weight per entry; single-label rows repeat the class weight of the row's label. */
  weight: Float32Array;
}

/**
 * Validates labels and builds targets with inverse-frequency ("balanced") weights, clipped to
 * [1/MAX_CLASS_WEIGHT, MAX_CLASS_WEIGHT], so a minority class counts as much as a majority one:
 *  - single-label: class c weighs N / (K·n_c), K = number of classes present;
 *  - multi-label: for label j, positives weigh N / (2·n_j) and negatives N / (2·(N − n_j)).
 */
function encodeTargets(spec: LegacyModelSpec, examples: LegacyExample[]): Targets {
  const L = spec.labels.length;
  const N = examples.length;
  const column = new Map(spec.labels.map((label, i) => [label, i]));
  const y = new Float32Array(N * L);
  examples.forEach((example, row) => {
    for (const j of labelColumns(spec, column, example, row)) y[row * L + j] = 1;
  });

  const positives = new Array<number>(L).fill(0);
  for (let i = 0; i < y.length; i++) positives[i % L] += y[i];
  const clip = (w: number) => Math.min(MAX_CLASS_WEIGHT, Math.max(1 / MAX_CLASS_WEIGHT, w));
  const weight = new Float32Array(N * L);
  if (spec.multiLabel) {
    for (let i = 0; i < y.length; i++) {
      const n = positives[i % L];
      weight[i] = y[i] === 1 ? clip(N / (2 * n)) : n === N ? 1 : clip(N / (2 * (N - n)));
    }
  } else {
    const present = positives.filter((n) => n > 0).length;
    for (let row = 0; row < N; row++) {
      let classWeight = 1;
      for (let j = 0; j < L; j++) if (y[row * L + j] === 1) classWeight = clip(N / (present * positives[j]));
      weight.fill(classWeight, row * L, (row + 1) * L);
    }
  }
  return { y, weight };
}

// ---------------------------------------------------------------------------------------------
// Validation.

function validateSpec(spec: LegacyModelSpec): void {
  if (spec === null || typeof spec !== 'object') throw new Error('model spec must be an object');
  const { labels, multiLabel, hidden } = spec;
  if (!Array.isArray(labels) || labels.some((label) => typeof label !== 'string' || label.length === 0)) {
    throw new Error('model spec labels must be an array of non-empty strings');
  }
  if (new Set(labels).size !== labels.length) throw new Error(`model spec labels contain duplicates: ${labels.join(', ')}`);
  if (typeof multiLabel !== 'boolean') throw new Error('model spec multiLabel must be a boolean');
  if (labels.length < (multiLabel ? 1 : 2)) {
    throw new Error(multiLabel ? 'a multi-label model needs at least one label' : 'a single-label model needs at least two labels');
  }
  if (!Number.isInteger(hidden) || hidden < 0) throw new Error(`model spec hidden must be an integer ≥ 0, got ${hidden}`);
  validateFeaturizerConfig(spec.featurizer);
  const parameters = parameterShapes(spec).reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);
  if (parameters > MAX_PARAMETERS) {
    throw new Error(`model spec has ${parameters} parameters (dim ${spec.featurizer.dim} × ${hidden || labels.length}); the limit is ${MAX_PARAMETERS}`);
  }
}

function validateTrainOptions(opts: LegacyTrainOptions): void {
  const { seed, epochs, batchSize, learningRate, l2 } = opts;
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a safe integer, got ${seed}`);
  if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`epochs must be an integer ≥ 0, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be an integer ≥ 1, got ${batchSize}`);
  if (!(learningRate > 0 && Number.isFinite(learningRate))) throw new Error(`learningRate must be > 0, got ${learningRate}`);
  if (!(l2 >= 0 && Number.isFinite(l2))) throw new Error(`l2 must be ≥ 0, got ${l2}`);
}

/**
 * A fresh copy with exactly the known fields in a fixed order, so serialised bytes and fingerprints do
 * not depend on how the caller built the object.
 */
function canonicalSpec(spec: LegacyModelSpec): LegacyModelSpec {
  const { kind, version, dim, ngram, maxChars } = spec.featurizer;
  return {
    labels: [...spec.labels],
    multiLabel: spec.multiLabel,
    featurizer: { kind, version, dim, ngram, maxChars },
    hidden: spec.hidden,
  };
}

/**
 * Hash of everything that determines the training trajectory (not `epochs`, which only says how far
 * to follow it), so a checkpoint cannot silently resume a different run.
 */
function trainingFingerprint(spec: LegacyModelSpec, examples: LegacyExample[], opts: LegacyTrainOptions): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h1 = Math.imul(h1 ^ 0xff, 0x01000193); // separator, so ("ab","c") ≠ ("a","bc")
    h2 = Math.imul(h2 ^ 0xff, 0x5bd1e995);
  };
  mix(JSON.stringify(canonicalSpec(spec)));
  mix(JSON.stringify([opts.seed, opts.batchSize, opts.learningRate, opts.l2]));
  for (const example of examples) {
    mix(example.text);
    mix(example.labels.join('\u0000'));
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}
