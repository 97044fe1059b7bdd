/**
 * Held-out evaluation of a classifier (or of the majority baseline) against true label sets.
 *
 * Definitions (n = number of examples, L = number of labels):
 *  - single-label: the prediction is the argmax label (ties → the earlier label in `spec.labels`);
 *    accuracy = share of examples whose predicted label is the true one;
 *    logLoss = mean over examples of −ln p(true label).
 *  - multi-label: the prediction is every label with p ≥ 0.5 (possibly none);
 *    accuracy = subset accuracy, the share of examples whose predicted set equals the true set exactly;
 *    logLoss = mean over the n·L (example, label) pairs of the binary cross-entropy.
 *  - perClassF1[label] = 2·TP / (2·TP + FP + FN), treating that label as the positive class.
 *    A label that is neither true nor predicted for any example has no defined F1: it is left out of
 *    perClassF1 and of the macro average (so a small held-out set that happens to lack a rare class is
 *    not scored as if the model had failed on it). A label predicted but never true scores 0.
 *  - macroF1 = unweighted mean of the perClassF1 values present.
 *  - n = 0 (or no F1 defined at all) gives 0 for every metric, never NaN.
 * Probabilities are clipped to [LOG_LOSS_EPSILON, 1 − LOG_LOSS_EPSILON] inside the logarithms, so a
 * confidently wrong float32 output costs −ln(1e-7) ≈ 16.1 nats instead of Infinity.
 */
import type { ModelSpec } from './classifier.js';

export interface EvaluationMetrics {
  n: number;
  accuracy: number;
  macroF1: number;
  perClassF1: Record<string, number>;
  /** Nats per example (single-label) or per (example, label) pair (multi-label). */
  logLoss: number;
  /** Expected calibration error of the confidences (15 bins), when measured. */
  ece?: number;
}

/** The parts of a model spec that evaluation needs. */
export type LabelSpace = Pick<ModelSpec, 'labels' | 'multiLabel'>;

export const LOG_LOSS_EPSILON = 1e-7;

/** Metrics for `probs` ([n][L], columns in `spec.labels` order) against `truth` (n label sets). */
export function evaluate(truth: string[][], probs: number[][], spec: LabelSpace): EvaluationMetrics {
  if (probs.length !== truth.length) {
    throw new Error(`evaluate: ${truth.length} truth rows but ${probs.length} probability rows`);
  }
  const L = spec.labels.length;
  probs.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== L) {
      throw new Error(`evaluate: probability row ${i} has ${row?.length} columns, the spec has ${L} labels`);
    }
  });
  const predicted = probs.map((row) => (spec.multiLabel ? thresholdPrediction(row) : [argmax(row)]));
  return score(truthIndices(truth, spec), predicted, probs, spec);
}

/**
 * Metrics for always predicting the most frequent label set of `trainTruth` (ties → the set seen first)
 * on `heldOutTruth`. Its probabilities, used for logLoss, are the Laplace-smoothed training
 * frequencies: (n_c + 1) / (N + L) per class (single-label) or (n_j + 1) / (N + 2) per label
 * (multi-label). With no training rows the baseline predicts the first label (single-label) or
 * no label (multi-label).
 */
export function majorityBaseline(trainTruth: string[][], heldOutTruth: string[][], spec: LabelSpace): EvaluationMetrics {
  const train = truthIndices(trainTruth, spec);
  const held = truthIndices(heldOutTruth, spec);
  const L = spec.labels.length;
  const N = train.length;

  const setCounts = new Map<string, { count: number; set: number[] }>();
  const labelCounts = new Array<number>(L).fill(0);
  for (const set of train) {
    const key = set.join(',');
    const entry = setCounts.get(key) ?? { count: 0, set };
    entry.count++;
    setCounts.set(key, entry);
    for (const j of set) labelCounts[j]++;
  }
  let majority: number[] = spec.multiLabel ? [] : [0];
  let best = 0;
  for (const { count, set } of setCounts.values()) {
    // Map iteration follows insertion order, so the strict ">" keeps the earliest-seen set on ties.
    if (count > best) {
      best = count;
      majority = set;
    }
  }
  const prior = spec.multiLabel
    ? labelCounts.map((c) => (c + 1) / (N + 2))
    : labelCounts.map((c) => (c + 1) / (N + L));
  return score(
    held,
    held.map(() => majority),
    held.map(() => prior),
    spec,
  );
}

/** Label sets as sorted column indices; throws on labels unknown to the spec or bad single-label rows. */
function truthIndices(truth: string[][], spec: LabelSpace): number[][] {
  const column = new Map(spec.labels.map((label, i) => [label, i]));
  return truth.map((labels, row) => {
    if (!Array.isArray(labels)) throw new Error(`truth row ${row} is not an array of labels`);
    if (!spec.multiLabel && labels.length !== 1) {
      throw new Error(`truth row ${row} has ${labels.length} labels; single-label evaluation needs exactly one`);
    }
    const indices = labels.map((label) => {
      const j = column.get(label);
      if (j === undefined) throw new Error(`truth row ${row} has label "${label}", not one of: ${spec.labels.join(', ')}`);
      return j;
    });
    return [...new Set(indices)].sort((a, b) => a - b);
  });
}

function score(truth: number[][], predicted: number[][], probs: number[][], spec: LabelSpace): EvaluationMetrics {
  const n = truth.length;
  const L = spec.labels.length;
  const tp = new Array<number>(L).fill(0);
  const fp = new Array<number>(L).fill(0);
  const fn = new Array<number>(L).fill(0);
  let exact = 0;
  let logLossSum = 0;
  for (let i = 0; i < n; i++) {
    const isTrue = new Array<boolean>(L).fill(false);
    const isPredicted = new Array<boolean>(L).fill(false);
    truth[i].forEach((j) => (isTrue[j] = true));
    predicted[i].forEach((j) => (isPredicted[j] = true));
    let allMatch = true;
    for (let j = 0; j < L; j++) {
      if (isTrue[j] && isPredicted[j]) tp[j]++;
      else if (isPredicted[j]) fp[j]++;
      else if (isTrue[j]) fn[j]++;
      if (isTrue[j] !== isPredicted[j]) allMatch = false;
      const p = clip(probs[i][j]);
      if (spec.multiLabel) logLossSum -= isTrue[j] ? Math.log(p) : Math.log(1 - p);
      else if (isTrue[j]) logLossSum -= Math.log(p);
    }
    if (allMatch) exact++;
  }
  const perClassF1: Record<string, number> = {};
  spec.labels.forEach((label, j) => {
    const denominator = 2 * tp[j] + fp[j] + fn[j];
    if (denominator > 0) perClassF1[label] = (2 * tp[j]) / denominator;
  });
  const f1s = Object.values(perClassF1);
  const logLossPairs = spec.multiLabel ? n * L : n;
  return {
    n,
    accuracy: n > 0 ? exact / n : 0,
    macroF1: f1s.length > 0 ? f1s.reduce((a, b) => a + b, 0) / f1s.length : 0,
    perClassF1,
    logLoss: logLossPairs > 0 ? logLossSum / logLossPairs : 0,
  };
}

function argmax(row: number[]): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

function thresholdPrediction(row: number[]): number[] {
  const labels: number[] = [];
  row.forEach((p, j) => {
    if (p >= 0.5) labels.push(j);
  });
  return labels;
}

function clip(p: number): number {
  // NaN (a broken model) is scored as maximally wrong rather than poisoning the mean.
  if (Number.isNaN(p)) return LOG_LOSS_EPSILON;
  return Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, p));
}
