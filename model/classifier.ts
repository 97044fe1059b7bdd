/**
 * Label Loop's text classifier (bundle kind label-loop/classifier v2): sparse hashed TF-IDF features
 * → a linear model that is an ensemble of a linear SVM and a complement naive Bayes, calibrated by
 * temperature scaling. Plain TypeScript, float64 arithmetic, no tfjs: cost follows the non-zeros of
 * the texts, not the width of the hash space. Deterministic (same examples + options + seed →
 * byte-identical bytes) and resumable from per-epoch checkpoints.
 *
 *   features  (tfidf.ts)      1-2-gram buckets in 2^20 hash buckets, sublinear TF × smoothed IDF,
 *                             rows L2-normalised. IDF is fitted on `hooks.pool` / `hooks.idf` (all
 *                             task texts, labelled or not) when given, else on the examples.
 *   member A  (linear.ts)     L2-regularised squared-hinge SVM per class (one-vs-rest; one problem
 *                             for two classes), dual coordinate descent with shrinking (LIBLINEAR's
 *                             solver), C = 1, balanced class weights, at most `epochs` passes, stops
 *                             when the projected-gradient range < `tolerance` (0.1, LIBLINEAR's default;
 *                             7-11 epochs on the benchmark sets). Steps are per example, so 50 labels
 *                             get as many passes as they need (the v1 head took 10 steps at 50 labels).
 *   member B  (naiveBayes.ts) complement naive Bayes on the same TF-IDF rows (single-label only).
 *   ensemble                  z = (1 − β)·z_svm/σ_svm + β·z_nb/σ_nb (σ = spread of each member's
 *                             out-of-fold logits). β ∈ NB_WEIGHTS and the NB smoothing ∈ NB_SMOOTHINGS
 *                             are chosen per training run by the log-loss of stratified 3-fold
 *                             out-of-fold scores (fold SVMs warm-started from the full solution, NB
 *                             folds by subtracting counts). Measured effect: NB dominates on
 *                             SpamAssassin up to ~800 labels (β 0.75-1), the SVM on the Brown genres
 *                             (β 0.25-0.5); no fixed β is best on both.
 *   calibration (calibration.ts) p = softmax(z/T) (single-label) or sigmoid(z/T) per label
 *                             (multi-label), T fitted on the same out-of-fold scores (NLL), so
 *                             `score` = p(predicted label) is calibrated: test ECE 0.002-0.06 on
 *                             SpamAssassin, 0.02-0.075 on Brown (50 … all labels, BENCHMARKS.md).
 * Everything folds into one weight matrix W [U × L] (U = buckets seen in training) and a bias [L],
 * so inference is one sparse dot product per text. Serialised: IDF [2^20] float32 (4 MB) + bucket
 * ids [U] int32 + W [U × L] float32 + bias; ~5-8 MB for 2,000 labels.
 *
 * Measured (BENCHMARKS.md has the full tables, seeds and intervals; accuracy = mean over 5 random
 * label sets, fixed test split): see "Ours vs the best baseline" there. Trade-offs measured on the
 * way (bench/compare.ts, 2 seeds unless noted):
 *   - 2^18 instead of 2^20 buckets: −2 to −3 points on Brown at 2,000 labels (test-time collisions
 *     of unseen n-grams); 2^22: +0.6 points more, but a 16 MB IDF per model.
 *   - NB smoothing 0.1 instead of 0.003 on SpamAssassin: 0.82 vs 0.92 at 50 labels; on Brown 0.1 is
 *     best, hence the per-run choice.
 *   - The no-refit leave-one-out approximation for the SVM (score − α‖x‖²) is too pessimistic and
 *     always picked NB; honest 3-fold CV costs ~2 more SVM trainings (warm-started, ≤ 4 epochs).
 *   - IDF on the pool vs on the labelled examples: up to +3 points at 50 labels in an early 2-seed
 *     run on SpamAssassin, no measurable difference from 800 labels on.
 *   - Training cost grows with labels × classes × (1 + folds): Brown with all 12,413 labels and 15
 *     classes took 100 s wall under heavy load (BENCHMARKS.md "Targets missed").
 *
 * Loop integration (activities/ is not changed here): the calls stay the same; optionally pass
 * `{ pool: allTaskTexts }` (or a cached `idf`) to trainClassifier, save checkpoints only when
 * `!converged`, and note that `epochs` is now a cap (tolerance 0 forces every epoch, e.g. for a test
 * that needs a long training). Rank tasks with strategies.ts (`hybridRank` marks the random audit
 * picks) and gate promotions with evaluation.ts `promotionDecision` on audit items.
 *
 * Where tfjs still runs: nowhere in this model. tfjs-core (wasm backend) remains only for
 * `LegacyClassifier` (legacyClassifier.ts), so models stored by earlier versions (bundle v1) still
 * load through `Classifier.deserialize`. A dense tfjs head costs O(rows × hash width) per step,
 * which is what made 2^13 buckets its ceiling; the sparse model trains and predicts faster at 2^20.
 */
import { decodeBundle, encodeBundle, float32Of, float64Of, int32Of } from './bundle.js';
import { fitTemperature } from './calibration.js';
import { labelColumns, type Example } from './examples.js';
import { LegacyClassifier, type LegacyModelSpec } from './legacyClassifier.js';
import { BIAS, compactColumns, initialSvmState, rowNorms, svmEpoch, type SvmProblem, type SvmState } from './linear.js';
import { deriveSeed, mulberry32, shuffleInPlace } from './random.js';
import { complementNaiveBayes, nbCounts, nbHeldOutScores } from './naiveBayes.js';
import { countNgrams, defaultTfidfConfig, fitIdf, rowCount, tfidf, validateTfidfConfig, type Idf, type SparseMatrix, type TfidfConfig } from './tfidf.js';

export type { Idf, SparseMatrix, TfidfConfig } from './tfidf.js';

export interface ModelSpec {
  /** Output classes, in output-column order. Unique, non-empty. */
  labels: string[];
  /** true: independent sigmoid per label (any subset); false: softmax over labels (exactly one). */
  multiLabel: boolean;
  featurizer: TfidfConfig;
}

export interface TrainOptions {
  /** Drives the coordinate-descent visiting order. Any safe integer. */
  seed: number;
  /**
   * Maximum passes of coordinate descent over the examples (per binary problem); training stops
   * earlier once every problem meets `tolerance`. 0 returns the untrained model (uniform probabilities).
   */
  epochs: number;
  /** Stop a problem when its projected-gradient range is ≤ this; 0 = always run all `epochs`. */
  tolerance: number;
  /** SVM cost C (inverse regularisation strength), > 0. */
  C: number;
  /** Additive smoothing of the naive-Bayes member, > 0, or 'auto' (chosen with β from NB_SMOOTHINGS). */
  nbSmoothing: number | 'auto';
  /** Weight β ∈ [0, 1] of the naive-Bayes member, or 'auto' (chosen by leave-one-out log-loss). Multi-label models use 0. */
  nbWeight: number | 'auto';
  /** Fit the temperature on leave-one-out scores (true) or use T = 1. */
  calibrate: boolean;
  /** Accepted for compatibility with the v1 options (LABEL_LOOP_* settings, overrides) and ignored. */
  batchSize?: number;
  /** Accepted for compatibility and ignored (dual coordinate descent has no step size). */
  learningRate?: number;
  /** Accepted for compatibility and ignored (regularisation is set by C). */
  l2?: number;
}

export type { Example } from './examples.js';

/** Optimiser state after `epoch` completed epochs; resuming from it is bit-exact. */
export interface Checkpoint {
  epoch: number;
  state: Uint8Array;
}

export interface EpochInfo {
  /** Completed epochs, 1-based. */
  epoch: number;
  /** The maximum (options.epochs); training may stop before it when converged. */
  epochs: number;
  /** Mean class-weighted squared-hinge loss of the examples as visited in this epoch. */
  loss: number;
  /** true when every binary problem met the tolerance: this is the last epoch. */
  converged: boolean;
  /** Snapshot of the state after this epoch. Call it before the onEpoch promise settles. */
  checkpoint: () => Checkpoint;
}

export interface TrainHooks {
  /** Continue a run with the same spec, examples, pool and options from this checkpoint. */
  resumeFrom?: Checkpoint;
  /** Awaited after every epoch (heartbeats, checkpoint persistence). */
  onEpoch?: (info: EpochInfo) => Promise<void>;
  /**
   * Texts to fit the IDF on: ideally every task of the project, labelled or not (include the
   * examples). Default: the examples' texts.
   */
  pool?: readonly string[];
  /** A precomputed IDF (`fitIdfOn(countFeatures(pool, spec))`); takes precedence over `pool`. */
  idf?: Idf;
}

/** What a training run decided, stored with the model. */
export interface ModelInfo {
  examples: number;
  /** Epochs run and whether every problem converged before the limit. */
  epochs: number;
  converged: boolean;
  /** β actually used (0 for multi-label). */
  nbWeight: number;
  /** NB smoothing used (0 when β = 0). */
  nbSmoothing: number;
  temperature: number;
  /** Mean leave-one-out NLL (nats) of the final calibrated scores on the training examples. */
  looLogLoss: number;
  /** Out-of-fold accuracy of the chosen ensemble on the training examples. */
  cvAccuracy: number;
  /** Documents the IDF was fitted on. */
  idfDocuments: number;
  /** Hash buckets with a weight (U). */
  columns: number;
}

/** β candidates for nbWeight 'auto', tried in this order (ties keep the earlier). */
export const NB_WEIGHTS = [0, 0.25, 0.5, 0.75, 1];
/**
 * Smoothing candidates for nbSmoothing 'auto'. Measured: SpamAssassin wants ~0.003 (0.92 vs 0.82
 * accuracy at 50 labels with 0.1), the Brown genres ~0.1 (+2.7 points at 2,000 labels over 0.01).
 */
export const NB_SMOOTHINGS = [0.003, 0.03, 0.3];
/** Balanced class weights are clipped to [1/MAX, MAX] so a class with a handful of examples cannot dominate. */
const MAX_CLASS_WEIGHT = 10;
/** Texts featurised per chunk in predictProba / features: bounds temporary memory. */
const PREDICT_CHUNK = 512;
const CLASSIFIER_KIND = 'label-loop/classifier';
const CHECKPOINT_KIND = 'label-loop/checkpoint';
const VERSION = 2;

/** Raw n-gram counts of `texts` under a spec's featurizer (CSR), for `predictProbaFromCounts` and `fitIdfOn`. */
export function countFeatures(texts: readonly string[], spec: Pick<ModelSpec, 'featurizer'>): SparseMatrix {
  return countNgrams(texts, spec.featurizer);
}

/** IDF fitted on the rows of `countFeatures(pool, spec)`, for `TrainHooks.idf` (reuse across trainings on the same pool). */
export function fitIdfOn(counts: SparseMatrix): Idf {
  return fitIdf(counts);
}

export function defaultSpec(labels: string[], multiLabel: boolean): ModelSpec {
  const spec: ModelSpec = { labels: [...labels], multiLabel, featurizer: defaultTfidfConfig() };
  validateSpec(spec);
  return spec;
}

export function defaultTrainOptions(seed: number): TrainOptions {
  return { seed, epochs: 50, tolerance: 0.1, C: 1, nbSmoothing: 'auto', nbWeight: 'auto', calibrate: true };
}

interface Weights {
  /** [U] hash bucket of each weighted column. */
  buckets: Int32Array;
  /** [U × L] final (temperature-scaled) weights, row j = the L weights of bucket buckets[j]. */
  weights: Float32Array;
  /** [L] */
  bias: Float32Array;
  /** [dim] */
  idf: Float32Array;
}

let createClassifier: (spec: ModelSpec, weights: Weights, info: ModelInfo) => Classifier;

/**
 * A trained (or untrained) model. Synchronous, allocation-light inference; nothing to free except
 * for legacy v1 models, but call dispose() when replacing it (legacy models hold tfjs tensors).
 */
export class Classifier {
  /** Frozen. For a legacy v1 model, its v1 spec (labels and multiLabel mean the same). */
  readonly spec: Readonly<ModelSpec> | Readonly<LegacyModelSpec>;
  readonly info: Readonly<ModelInfo> | null;
  readonly #weights: Weights | null;
  readonly #index: Int32Array | null;
  #legacy: LegacyClassifier | null;

  static {
    createClassifier = (spec, weights, info) => new Classifier(spec, weights, info, null);
  }

  private constructor(spec: ModelSpec | LegacyModelSpec, weights: Weights | null, info: ModelInfo | null, legacy: LegacyClassifier | null) {
    this.spec = deepFreeze(structuredClone(spec));
    this.info = info ? Object.freeze({ ...info }) : null;
    this.#weights = weights;
    this.#legacy = legacy;
    if (weights) {
      const dim = (spec as ModelSpec).featurizer.dim;
      this.#index = new Int32Array(dim).fill(-1);
      for (let j = 0; j < weights.buckets.length; j++) this.#index[weights.buckets[j]] = j;
    } else {
      this.#index = null;
    }
  }

  /**
   * Probabilities, shape [texts.length][labels.length]: softmax rows summing to 1 (single-label) or
   * independent sigmoids (multi-label), temperature-calibrated.
   */
  predictProba(texts: readonly string[]): number[][] {
    if (this.#legacy) return this.#legacy.predictProba([...texts]);
    const spec = this.spec as ModelSpec;
    const out: number[][] = [];
    for (let start = 0; start < texts.length; start += PREDICT_CHUNK) {
      for (const row of this.predictProbaFromCounts(countNgrams(texts.slice(start, start + PREDICT_CHUNK), spec.featurizer))) out.push(row);
    }
    return out;
  }

  /**
   * `predictProba` on n-gram counts from `countFeatures(texts, classifier.spec)`: a fast path for
   * scoring the same pool of tasks with many models (the counts do not depend on the model's weights,
   * only on spec.featurizer).
   */
  predictProbaFromCounts(counts: SparseMatrix): number[][] {
    const { weights, bias, idf } = this.#live();
    const index = this.#index!;
    const spec = this.spec as ModelSpec;
    if (counts.dim !== spec.featurizer.dim) throw new Error(`counts have ${counts.dim} columns, the model ${spec.featurizer.dim}`);
    const L = spec.labels.length;
    const out: number[][] = [];
    const z = new Float64Array(L);
    {
      const { rowStart, cols, vals } = counts;
      for (let r = 0; r + 1 < rowStart.length; r++) {
        z.fill(0);
        let sumSquares = 0;
        for (let q = rowStart[r]; q < rowStart[r + 1]; q++) {
          const c = vals[q];
          const v = (c < SUBLINEAR.length ? SUBLINEAR[c] : 1 + Math.log(c)) * idf[cols[q]];
          sumSquares += v * v;
          const j = index[cols[q]];
          if (j >= 0) for (let k = 0, o = j * L; k < L; k++) z[k] += v * weights[o + k];
        }
        const scale = sumSquares > 0 ? 1 / Math.sqrt(sumSquares) : 0;
        const row = new Array<number>(L);
        if (spec.multiLabel) {
          for (let k = 0; k < L; k++) row[k] = sigmoid(z[k] * scale + bias[k]);
        } else {
          let max = -Infinity;
          for (let k = 0; k < L; k++) {
            z[k] = z[k] * scale + bias[k];
            if (z[k] > max) max = z[k];
          }
          let sum = 0;
          for (let k = 0; k < L; k++) sum += row[k] = Math.exp(z[k] - max);
          for (let k = 0; k < L; k++) row[k] /= sum;
        }
        out.push(row);
      }
    }
    return out;
  }

  /**
   * The model's TF-IDF feature rows (CSR, columns = hash buckets, rows L2-normalised), e.g. for
   * diversity-aware query strategies. Not available for legacy v1 models.
   */
  features(texts: readonly string[]): SparseMatrix {
    const { idf } = this.#live();
    return tfidf(countNgrams(texts, (this.spec as ModelSpec).featurizer), idf);
  }

  /** Spec + info + weights as one self-describing byte string (bundle.ts). Equal models give equal bytes. */
  serialize(): Uint8Array {
    if (this.#legacy) return this.#legacy.serialize();
    const w = this.#live();
    return encodeBundle({ kind: CLASSIFIER_KIND, version: VERSION, spec: this.spec, info: this.info }, [
      ['idf', w.idf],
      ['buckets', w.buckets],
      ['weights', w.weights],
      ['bias', w.bias],
    ]);
  }

  /** Loads a v2 bundle, or a v1 bundle of the legacy tfjs classifier (needs `await initBackend()` first). */
  static deserialize(bytes: Uint8Array): Classifier {
    const { meta, arrays } = decodeBundle<{ kind: string; version: number; spec: ModelSpec; info: ModelInfo }>(bytes);
    if (meta?.kind === CLASSIFIER_KIND && meta.version === 1) {
      const legacy = LegacyClassifier.deserialize(bytes);
      return new Classifier(legacy.spec, null, null, legacy);
    }
    if (meta?.kind !== CLASSIFIER_KIND || meta.version !== VERSION) {
      throw new Error(`not a serialised classifier (kind ${String(meta?.kind)}, version ${String(meta?.version)})`);
    }
    validateSpec(meta.spec);
    const spec = canonicalSpec(meta.spec);
    const L = spec.labels.length;
    const buckets = int32Of(arrays, 'buckets');
    for (const b of buckets) if (!(b >= 0 && b < spec.featurizer.dim)) throw new Error(`model bundle has bucket ${b} outside [0, ${spec.featurizer.dim})`);
    const weights: Weights = {
      idf: float32Of(arrays, 'idf', spec.featurizer.dim),
      buckets,
      weights: float32Of(arrays, 'weights', buckets.length * L),
      bias: float32Of(arrays, 'bias', L),
    };
    return new Classifier(spec, weights, meta.info, null);
  }

  /** Frees a legacy model's tensors; afterwards the instance is unusable. Safe to call twice. */
  dispose(): void {
    this.#legacy?.dispose();
    this.#legacy = null;
    this.#disposed = true;
  }

  #disposed = false;

  #live(): Weights {
    if (this.#disposed) throw new Error('classifier has been disposed');
    if (!this.#weights) throw new Error('features() is not available for legacy v1 models');
    return this.#weights;
  }
}

/**
 * Trains a classifier. Deterministic: the same spec, examples (same order), pool, options give
 * byte-identical serialised models, and resuming from the checkpoint of epoch k gives the same model
 * as an uninterrupted run. Throws on invalid input (unknown labels, bad options, no examples with
 * epochs > 0). Yields to the event loop after every epoch (heartbeats run).
 */
export async function trainClassifier(spec: ModelSpec, examples: Example[], opts: TrainOptions, hooks: TrainHooks = {}): Promise<Classifier> {
  validateSpec(spec);
  validateTrainOptions(opts);
  spec = canonicalSpec(spec);
  const targets = encodeTargets(spec, examples);
  const L = spec.labels.length;
  if (examples.length === 0 && opts.epochs > 0) throw new Error('cannot train on an empty example list');

  const counts = countNgrams(
    examples.map((e) => e.text),
    spec.featurizer,
  );
  if (hooks.idf && hooks.idf.values.length !== spec.featurizer.dim) throw new Error(`hooks.idf has ${hooks.idf.values.length} buckets, the spec ${spec.featurizer.dim}`);
  const idf = hooks.idf ?? fitIdf(hooks.pool ? countNgrams(hooks.pool, spec.featurizer) : counts);
  if (opts.epochs === 0 && !hooks.resumeFrom) {
    const info: ModelInfo = { examples: examples.length, epochs: 0, converged: false, nbWeight: 0, nbSmoothing: 0, temperature: 1, looLogLoss: Math.log(L), cvAccuracy: 0, idfDocuments: idf.documents, columns: 0 };
    return createClassifier(spec, { idf: idf.values, buckets: new Int32Array(0), weights: new Float32Array(0), bias: new Float32Array(L) }, info);
  }

  const compact = compactColumns(tfidf(counts, idf.values));
  const problem = svmProblem(spec, compact.rows, targets, opts.C);
  const norms = rowNorms(compact.rows);
  let fingerprint: string | undefined;
  const fingerprintOf = () => (fingerprint ??= trainingFingerprint(spec, examples, idf, opts));

  const state = hooks.resumeFrom ? restoreState(hooks.resumeFrom, problem, fingerprintOf()) : initialSvmState(problem);
  if (state.epoch > opts.epochs) throw new Error(`resumeFrom is a checkpoint of epoch ${state.epoch}, beyond the ${opts.epochs} epochs requested`);
  let converged = state.done.every((d) => d === 1);
  while (state.epoch < opts.epochs && !converged) {
    const loss = svmEpoch(problem, state, norms, opts.seed, opts.tolerance);
    converged = opts.tolerance > 0 && state.done.every((d) => d === 1);
    const epoch = state.epoch;
    if (hooks.onEpoch) {
      let open = true;
      const checkpoint = (): Checkpoint => {
        if (!open) throw new Error(`checkpoint() for epoch ${epoch} called after its onEpoch hook settled`);
        return { epoch, state: encodeState(state, fingerprintOf()) };
      };
      try {
        await hooks.onEpoch({ epoch, epochs: opts.epochs, loss, converged, checkpoint });
      } finally {
        open = false;
      }
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return finish(spec, examples.length, idf, compact.buckets, problem, state, norms, targets, opts, converged);
}

// ---------------------------------------------------------------------------------------------

/** 1 + ln(count) for small counts; must match tfidf.ts. */
const SUBLINEAR = Float64Array.from({ length: 256 }, (_, count) => (count === 0 ? 0 : 1 + Math.log(count)));

function sigmoid(a: number): number {
  return a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a));
}

interface Targets {
  /** Single-label: class index per example. */
  classOf: Int32Array;
  /** Multi-label: [n × L] 0/1. Single-label: one-hot. */
  hot: Uint8Array;
}

function encodeTargets(spec: ModelSpec, examples: Example[]): Targets {
  const L = spec.labels.length;
  const column = new Map(spec.labels.map((label, i) => [label, i]));
  const classOf = new Int32Array(examples.length);
  const hot = new Uint8Array(examples.length * L);
  examples.forEach((example, row) => {
    for (const j of labelColumns(spec, column, example, row)) {
      hot[row * L + j] = 1;
      classOf[row] = j;
    }
  });
  return { classOf, hot };
}

const clipWeight = (w: number) => Math.min(MAX_CLASS_WEIGHT, Math.max(1 / MAX_CLASS_WEIGHT, w));

/**
 * Binary problems with balanced ("inverse frequency") costs, clipped to [C/MAX, C·MAX]:
 *  - single-label, 2 classes: one problem (class 1 vs class 0); more classes: one-vs-rest, each
 *    example weighing N / (K·n_c) in every problem (K = classes present), as scikit-learn's
 *    class_weight="balanced" with a one-vs-rest LinearSVC;
 *  - multi-label: per label, positives N / (2·n_j), negatives N / (2·(N − n_j)).
 */
function svmProblem(spec: ModelSpec, rows: SparseMatrix, targets: Targets, C: number): SvmProblem {
  const L = spec.labels.length;
  const n = rowCount(rows);
  const positives = new Array<number>(L).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < L; j++) positives[j] += targets.hot[i * L + j];
  if (!spec.multiLabel) {
    const present = positives.filter((c) => c > 0).length;
    const problems = L === 2 ? 1 : L;
    const y = new Int8Array(n * problems);
    const cost = new Float64Array(n * problems);
    for (let i = 0; i < n; i++) {
      const c = targets.classOf[i];
      const weight = C * clipWeight(n / (present * positives[c]));
      for (let k = 0; k < problems; k++) {
        const positive = L === 2 ? c === 1 : c === k;
        y[i * problems + k] = positive ? 1 : -1;
        cost[i * problems + k] = weight;
      }
    }
    return { rows, problems, y, cost };
  }
  const y = new Int8Array(n * L);
  const cost = new Float64Array(n * L);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < L; j++) {
      const positive = targets.hot[i * L + j] === 1;
      const m = positives[j];
      y[i * L + j] = positive ? 1 : -1;
      cost[i * L + j] = C * (positive ? clipWeight(n / (2 * m)) : m === 0 ? 1 : clipWeight(n / (2 * (n - m))));
    }
  }
  return { rows, problems: L, y, cost };
}

/** Problem scores [n × problems] → class scores [n × L] (two classes: ±s/2). */
function classScores(spec: ModelSpec, problems: number, s: Float64Array): Float64Array {
  const L = spec.labels.length;
  if (problems === L) return s;
  const n = s.length;
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    out[2 * i] = -s[i] / 2;
    out[2 * i + 1] = s[i] / 2;
  }
  return out;
}

/** Root mean square of row-centred scores: the member's typical logit spread. */
function spread(scores: Float64Array, width: number): number {
  const n = scores.length / width;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let k = 0; k < width; k++) mean += scores[i * width + k];
    mean /= width;
    for (let k = 0; k < width; k++) sum += (scores[i * width + k] - mean) ** 2;
  }
  const rms = Math.sqrt(sum / Math.max(1, scores.length));
  return rms > 1e-12 ? rms : 1;
}

/** Share of examples whose out-of-fold argmax (single-label) / thresholded set (multi-label) is right. */
function cvAccuracy(scores: Float64Array, spec: ModelSpec, targets: Targets): number {
  const L = spec.labels.length;
  const n = scores.length / L;
  let right = 0;
  for (let i = 0; i < n; i++) {
    if (spec.multiLabel) {
      let all = true;
      for (let k = 0; k < L; k++) if ((scores[i * L + k] > 0 ? 1 : 0) !== targets.hot[i * L + k]) all = false;
      if (all) right++;
    } else {
      let bestK = 0;
      for (let k = 1; k < L; k++) if (scores[i * L + k] > scores[i * L + bestK]) bestK = k;
      if (bestK === targets.classOf[i]) right++;
    }
  }
  return n > 0 ? right / n : 0;
}

/** Folds of the internal cross-validation that picks β and T. */
export const CALIBRATION_FOLDS = 3;
/** Epoch cap of the fold SVMs (warm-started; their scores only pick β and T). */
const FOLD_EPOCHS = 4;

/**
 * Out-of-fold class scores [n × L] of the SVM and (if wanted) the NB member: stratified
 * CALIBRATION_FOLDS-fold cross-validation (seeded by options.seed), each fold's models trained exactly
 * like the final ones (same costs, epochs, tolerance) on the other folds. With fewer than
 * 2·CALIBRATION_FOLDS examples, every example is its own fold (leave-one-out). Each fold's SVM
 * starts from the full model's dual variables restricted to the fold's rows (a warm start that
 * converges in a few epochs to the same tolerance); NB is a counting pass.
 */
function outOfFold(
  spec: ModelSpec,
  problem: SvmProblem,
  full: SvmState,
  norms: Float64Array,
  targets: Targets,
  opts: TrainOptions,
  wantNb: boolean,
): { svm: Float64Array; nb: Map<number, Float64Array> } {
  const L = spec.labels.length;
  const { rows } = problem;
  const n = rowCount(rows);
  const P = problem.problems;
  const folds = n < 2 * CALIBRATION_FOLDS ? n : CALIBRATION_FOLDS;
  const foldOf = new Int32Array(n);
  const random = mulberry32(deriveSeed(opts.seed, 0xf01d));
  // Stratified: each class's examples (in a seeded order) are dealt round-robin, continuing where the previous class stopped.
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const key = spec.multiLabel ? 0 : targets.classOf[i];
    const members = byClass.get(key);
    if (members) members.push(i);
    else byClass.set(key, [i]);
  }
  let next = 0;
  for (const key of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(key)!;
    shuffleInPlace(members, random);
    for (const i of members) foldOf[i] = next++ % folds;
  }
  const svm = new Float64Array(n * P);
  const smoothings = !wantNb ? [] : opts.nbSmoothing === 'auto' ? NB_SMOOTHINGS : [opts.nbSmoothing];
  const nb = new Map(smoothings.map((a) => [a, new Float64Array(n * L)] as const));
  const nbFull = wantNb ? nbCounts(rows, targets.classOf, L) : null;
  for (let f = 0; f < folds; f++) {
    const train: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < n; i++) (foldOf[i] === f ? held : train).push(i);
    if (held.length === 0) continue;
    const state = warmStart(problem, full, train);
    const foldEpochs = Math.min(opts.epochs, FOLD_EPOCHS);
    while (state.epoch < foldEpochs && !state.done.every((d) => d === 1)) svmEpoch(problem, state, norms, opts.seed, opts.tolerance);
    const U1 = rows.dim + 1;
    for (const i of held) {
      for (let k = 0; k < P; k++) {
        let s = state.w[k * U1 + rows.dim] * BIAS;
        for (let q = rows.rowStart[i]; q < rows.rowStart[i + 1]; q++) s += state.w[k * U1 + rows.cols[q]] * rows.vals[q];
        svm[i * P + k] = s;
      }
    }
    if (nbFull) for (const [a, out] of nb) nbHeldOutScores(rows, targets.classOf, nbFull, held, a, out);
  }
  return { svm: classScores(spec, P, svm), nb };
}

/** Initial state training on rows `keep` only: the full model's α on those rows and the w they imply. */
function warmStart(p: SvmProblem, full: SvmState, keep: number[]): SvmState {
  const state = initialSvmState(p, keep);
  const P = p.problems;
  const U1 = p.rows.dim + 1;
  const { rowStart, cols, vals } = p.rows;
  for (const i of keep) {
    for (let k = 0; k < P; k++) {
      const a = full.alpha[i * P + k];
      if (a === 0) continue;
      state.alpha[i * P + k] = a;
      const d = a * p.y[i * P + k];
      for (let q = rowStart[i]; q < rowStart[i + 1]; q++) state.w[k * U1 + cols[q]] += d * vals[q];
      state.w[k * U1 + p.rows.dim] += d * BIAS;
    }
  }
  return state;
}

function finish(
  spec: ModelSpec,
  n: number,
  idf: { documents: number; values: Float32Array },
  buckets: Int32Array,
  problem: SvmProblem,
  state: SvmState,
  norms: Float64Array,
  targets: Targets,
  opts: TrainOptions,
  converged: boolean,
): Classifier {
  const L = spec.labels.length;
  const U = buckets.length;
  const P = problem.problems;
  const U1 = U + 1;
  // Out-of-fold scores of both members decide β and T (see outOfFold).
  const wantNb = !spec.multiLabel && opts.nbWeight !== 0;
  const oof = outOfFold(spec, problem, state, norms, targets, opts, wantNb);
  const svmLoo = oof.svm;
  const svmSpread = spread(svmLoo, L);
  const table = (scores: Float64Array) => ({
    scores,
    width: L,
    targets: spec.multiLabel ? targets.hot : targets.classOf,
    multiLabel: spec.multiLabel,
  });
  const betas = !wantNb ? [0] : opts.nbWeight === 'auto' ? NB_WEIGHTS : [opts.nbWeight];
  let best = { beta: 0, smoothing: 0, temperature: 1, nll: Infinity, accuracy: -1 };
  const members: [number, Float64Array | null][] = oof.nb.size ? [...oof.nb] : [[0, null]];
  for (const [m, [smoothing, nbScores]] of members.entries()) {
    const nbSpread = nbScores ? spread(nbScores, L) : 1;
    for (const b of betas) {
      if (b === 0 && m > 0) continue; // β = 0 ignores NB: one evaluation is enough
      const scores = new Float64Array(n * L);
      for (let e = 0; e < scores.length; e++) scores[e] = ((1 - b) * svmLoo[e]) / svmSpread + (nbScores ? (b * nbScores[e]) / nbSpread : 0);
      const fit = opts.calibrate ? fitTemperature(table(scores)) : { temperature: 1, nll: 0 };
      const accuracy = cvAccuracy(scores, spec, targets);
      if (fit.nll < best.nll || best.nll === Infinity) best = { beta: b, smoothing, temperature: fit.temperature, nll: fit.nll, accuracy };
    }
  }
  const beta = best.beta;
  const nb = wantNb && beta > 0 ? complementNaiveBayes(problem.rows, targets.classOf, L, best.smoothing) : null;
  const nbSpread = nb ? spread(oof.nb.get(best.smoothing)!, L) : 1;
  const T = best.temperature;

  // Fold members, spreads and temperature into one weight matrix.
  const weights = new Float32Array(U * L);
  const bias = new Float32Array(L);
  const svmScale = (1 - beta) / svmSpread / T;
  const nbScale = nb ? beta / nbSpread / T : 0;
  for (let j = 0; j < U; j++) {
    for (let k = 0; k < L; k++) {
      let w: number;
      if (P === L) w = state.w[k * U1 + j];
      else w = (k === 1 ? 0.5 : -0.5) * state.w[j];
      weights[j * L + k] = w * svmScale + (nb ? nb.weights[j * L + k] * nbScale : 0);
    }
  }
  for (let k = 0; k < L; k++) bias[k] = (P === L ? state.w[k * U1 + U] : (k === 1 ? 0.5 : -0.5) * state.w[U]) * svmScale;
  // Buckets in ascending order make the serialised bytes independent of first-appearance order.
  const order = Array.from(buckets.keys()).sort((a, b) => buckets[a] - buckets[b]);
  const sortedBuckets = Int32Array.from(order, (j) => buckets[j]);
  const sortedWeights = new Float32Array(U * L);
  order.forEach((j, r) => sortedWeights.set(weights.subarray(j * L, (j + 1) * L), r * L));

  const info: ModelInfo = {
    examples: n,
    epochs: state.epoch,
    converged,
    nbWeight: beta,
    nbSmoothing: beta > 0 ? best.smoothing : 0,
    temperature: T,
    looLogLoss: best.nll,
    cvAccuracy: best.accuracy,
    idfDocuments: idf.documents,
    columns: U,
  };
  return createClassifier(spec, { idf: idf.values, buckets: sortedBuckets, weights: sortedWeights, bias }, info);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints.

interface CheckpointMeta {
  kind: string;
  version: number;
  epoch: number;
  fingerprint: string;
}

function encodeState(state: SvmState, fingerprint: string): Uint8Array {
  const meta: CheckpointMeta = { kind: CHECKPOINT_KIND, version: VERSION, epoch: state.epoch, fingerprint };
  return encodeBundle(meta, [
    ['alpha', state.alpha],
    ['w', state.w],
    ['done', Int32Array.from(state.done)],
    ['active', state.active],
    ['activeSize', state.activeSize],
    ['pgMaxOld', state.pgMaxOld],
    ['pgMinOld', state.pgMinOld],
  ]);
}

function restoreState(checkpoint: Checkpoint, problem: SvmProblem, fingerprint: string): SvmState {
  const { meta, arrays } = decodeBundle<CheckpointMeta>(checkpoint.state);
  if (meta?.kind !== CHECKPOINT_KIND || meta.version !== VERSION) throw new Error('resumeFrom is not a v2 training checkpoint');
  if (meta.fingerprint !== fingerprint) throw new Error('resumeFrom checkpoint was made with a different spec, example list, pool or training options');
  if (meta.epoch !== checkpoint.epoch) throw new Error(`checkpoint says epoch ${meta.epoch} but is labelled ${checkpoint.epoch}`);
  const fresh = initialSvmState(problem);
  return {
    epoch: meta.epoch,
    alpha: float64Of(arrays, 'alpha', fresh.alpha.length),
    w: float64Of(arrays, 'w', fresh.w.length),
    done: Uint8Array.from(int32Of(arrays, 'done', fresh.done.length)),
    active: int32Of(arrays, 'active', fresh.active.length),
    activeSize: int32Of(arrays, 'activeSize', fresh.activeSize.length),
    pgMaxOld: float64Of(arrays, 'pgMaxOld', fresh.pgMaxOld.length),
    pgMinOld: float64Of(arrays, 'pgMinOld', fresh.pgMinOld.length),
  };
}

// ---------------------------------------------------------------------------------------------
// Validation.

function validateSpec(spec: ModelSpec): void {
  if (spec === null || typeof spec !== 'object') throw new Error('model spec must be an object');
  const { labels, multiLabel } = spec;
  if (!Array.isArray(labels) || labels.some((label) => typeof label !== 'string' || label.length === 0)) {
    throw new Error('model spec labels must be an array of non-empty strings');
  }
  if (new Set(labels).size !== labels.length) throw new Error(`model spec labels contain duplicates: ${labels.join(', ')}`);
  if (typeof multiLabel !== 'boolean') throw new Error('model spec multiLabel must be a boolean');
  if (labels.length < (multiLabel ? 1 : 2)) {
    throw new Error(multiLabel ? 'a multi-label model needs at least one label' : 'a single-label model needs at least two labels');
  }
  validateTfidfConfig(spec.featurizer);
}

function validateTrainOptions(opts: TrainOptions): void {
  const { seed, epochs, tolerance, C, nbSmoothing, nbWeight, calibrate } = opts;
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a safe integer, got ${seed}`);
  if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`epochs must be an integer ≥ 0, got ${epochs}`);
  if (!(tolerance >= 0 && Number.isFinite(tolerance))) throw new Error(`tolerance must be ≥ 0, got ${tolerance}`);
  if (!(C > 0 && Number.isFinite(C))) throw new Error(`C must be > 0, got ${C}`);
  if (nbSmoothing !== 'auto' && !(nbSmoothing > 0 && Number.isFinite(nbSmoothing))) throw new Error(`nbSmoothing must be 'auto' or > 0, got ${nbSmoothing}`);
  if (nbWeight !== 'auto' && !(nbWeight >= 0 && nbWeight <= 1)) throw new Error(`nbWeight must be 'auto' or in [0, 1], got ${nbWeight}`);
  if (typeof calibrate !== 'boolean') throw new Error('calibrate must be a boolean');
}

/** A fresh copy with exactly the known fields in a fixed order (stable bytes and fingerprints). */
function canonicalSpec(spec: ModelSpec): ModelSpec {
  const { kind, version, dim, ngram, maxChars } = spec.featurizer;
  return { labels: [...spec.labels], multiLabel: spec.multiLabel, featurizer: { kind, version, dim, ngram, maxChars } };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Hash of everything that determines the optimisation trajectory (not `epochs`: only how far to follow it). */
function trainingFingerprint(spec: ModelSpec, examples: Example[], idf: Idf, opts: TrainOptions): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h1 = Math.imul(h1 ^ 0xff, 0x01000193);
    h2 = Math.imul(h2 ^ 0xff, 0x5bd1e995);
  };
  mix(JSON.stringify(canonicalSpec(spec)));
  mix(JSON.stringify([opts.seed, opts.tolerance, opts.C]));
  for (const example of examples) {
    mix(example.text);
    mix(example.labels.join('\u0000'));
  }
  // The IDF stands for the pool it was fitted on.
  const bits = new Int32Array(idf.values.buffer, idf.values.byteOffset, idf.values.length);
  for (let j = 0; j < bits.length; j++) {
    h1 = Math.imul(h1 ^ bits[j], 0x01000193);
    h2 = Math.imul(h2 ^ bits[j], 0x5bd1e995);
  }
  mix(String(idf.documents));
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}
