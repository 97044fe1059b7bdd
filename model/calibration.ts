/**
 * Probability calibration: temperature scaling (Guo et al. 2017) and the expected calibration error.
 *
 * Temperature scaling divides a model's scores (logits) by one positive number T before the
 * softmax (single-label) or the per-label sigmoids (multi-label), chosen to minimise the negative
 * log-likelihood of held-out (or cross-validated, or leave-one-out) predictions. It never changes
 * the argmax, so accuracy is untouched; it only makes `score` = p(predicted label) mean what it says.
 */

export interface ScoreTable {
  /** [n × K] scores, row-major. */
  scores: ArrayLike<number>;
  /** Columns per row (K). */
  width: number;
  /**
   * Single-label: the true column of each row ([n]). Multi-label: [n × K] 0/1 targets.
   */
  targets: ArrayLike<number>;
  multiLabel: boolean;
  /** Optional per-row weights ([n]); default 1. */
  weights?: ArrayLike<number>;
}

/** Mean NLL (nats) of scores·β under softmax / sigmoid, plus its first and second derivative in β. */
export function temperatureObjective(t: ScoreTable, beta: number): { nll: number; d1: number; d2: number } {
  const { scores, width: K, targets, multiLabel, weights } = t;
  const n = Math.floor(scores.length / K);
  let nll = 0;
  let d1 = 0;
  let d2 = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i] : 1;
    if (w === 0) continue;
    total += w;
    if (multiLabel) {
      for (let k = 0; k < K; k++) {
        const z = scores[i * K + k];
        const y = targets[i * K + k];
        const a = beta * z;
        // NLL of a sigmoid, overflow-safe: max(a,0) − a·y + ln(1 + e^−|a|)
        nll += w * (Math.max(a, 0) - a * y + Math.log1p(Math.exp(-Math.abs(a))));
        const p = a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a));
        d1 += w * (p - y) * z;
        d2 += w * p * (1 - p) * z * z;
      }
    } else {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, beta * scores[i * K + k]);
      let sum = 0;
      let mean = 0;
      let second = 0;
      for (let k = 0; k < K; k++) {
        const z = scores[i * K + k];
        const e = Math.exp(beta * z - max);
        sum += e;
        mean += e * z;
        second += e * z * z;
      }
      mean /= sum;
      second /= sum;
      const y = targets[i];
      nll += w * (max + Math.log(sum) - beta * scores[i * K + y]);
      d1 += w * (mean - scores[i * K + y]);
      d2 += w * (second - mean * mean);
    }
  }
  if (total === 0) return { nll: 0, d1: 0, d2: 0 };
  return { nll: nll / total, d1: d1 / total, d2: d2 / total };
}

export const MIN_TEMPERATURE = 1e-3;
export const MAX_TEMPERATURE = 1e3;

/**
 * The temperature T ∈ [MIN_TEMPERATURE, MAX_TEMPERATURE] minimising the mean NLL of softmax(z/T) /
 * sigmoid(z/T). The NLL is convex in β = 1/T, so this runs safeguarded Newton steps on β
 * (halving a step that does not lower the NLL). Deterministic. Returns 1 for an empty table.
 */
export function fitTemperature(t: ScoreTable): { temperature: number; nll: number } {
  let beta = 1;
  let current = temperatureObjective(t, beta);
  for (let iteration = 0; iteration < 50; iteration++) {
    if (current.d2 <= 1e-12 && Math.abs(current.d1) <= 1e-12) break;
    let step = current.d2 > 1e-12 ? -current.d1 / current.d2 : -Math.sign(current.d1) * beta;
    // Stay inside the bounds and never move by more than 10× in one step.
    step = Math.max(Math.min(step, 9 * beta), -0.9 * beta);
    let accepted = false;
    for (let halving = 0; halving < 30; halving++) {
      const candidate = Math.min(1 / MIN_TEMPERATURE, Math.max(1 / MAX_TEMPERATURE, beta + step));
      const next = temperatureObjective(t, candidate);
      if (next.nll <= current.nll) {
        const moved = Math.abs(candidate - beta);
        beta = candidate;
        current = next;
        accepted = moved > 1e-10 * Math.max(1, beta);
        break;
      }
      step /= 2;
    }
    if (!accepted || Math.abs(current.d1) < 1e-9) break;
  }
  return { temperature: 1 / beta, nll: current.nll };
}

export interface CalibrationReport {
  /** Expected calibration error in [0, 1]: Σ_bins (|bin| / n) · |accuracy(bin) − confidence(bin)|. */
  ece: number;
  /** Per bin (equal width on [0, 1]): count, mean confidence, accuracy. Empty bins have count 0. */
  bins: { count: number; confidence: number; accuracy: number }[];
}

/**
 * Expected calibration error with `bins` equal-width confidence bins (15 by default, as in Guo et
 * al.). `confidence[i]` is the probability the model gave its prediction for item i and `correct[i]`
 * whether that prediction was right. For single-label models pass the top-label probability and
 * argmax correctness; for multi-label, one item per (example, label) decision with confidence
 * max(p, 1 − p). A confidence of exactly 1 falls in the last bin.
 */
export function expectedCalibrationError(confidence: ArrayLike<number>, correct: ArrayLike<boolean | number>, bins = 15): CalibrationReport {
  if (confidence.length !== correct.length) throw new Error('expectedCalibrationError: confidence and correct differ in length');
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`expectedCalibrationError: bins must be a positive integer, got ${bins}`);
  const count = new Array<number>(bins).fill(0);
  const confSum = new Array<number>(bins).fill(0);
  const correctSum = new Array<number>(bins).fill(0);
  for (let i = 0; i < confidence.length; i++) {
    const c = Math.min(1, Math.max(0, confidence[i]));
    const b = Math.min(bins - 1, Math.floor(c * bins));
    count[b]++;
    confSum[b] += c;
    correctSum[b] += correct[i] ? 1 : 0;
  }
  const n = confidence.length;
  let ece = 0;
  const report = count.map((m, b) => {
    if (m === 0) return { count: 0, confidence: 0, accuracy: 0 };
    const conf = confSum[b] / m;
    const acc = correctSum[b] / m;
    ece += (m / n) * Math.abs(acc - conf);
    return { count: m, confidence: conf, accuracy: acc };
  });
  return { ece: n > 0 ? ece : 0, bins: report };
}

/** ECE of probability rows against true label sets (see `expectedCalibrationError` for the convention). */
export function calibrationOf(truth: string[][], probs: number[][], spec: { labels: string[]; multiLabel: boolean }, bins = 15): CalibrationReport {
  const confidence: number[] = [];
  const correct: boolean[] = [];
  probs.forEach((row, i) => {
    const truthSet = new Set(truth[i]);
    if (spec.multiLabel) {
      row.forEach((p, j) => {
        confidence.push(Math.max(p, 1 - p));
        correct.push(p >= 0.5 === truthSet.has(spec.labels[j]));
      });
    } else {
      let best = 0;
      for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
      confidence.push(row[best]);
      correct.push(truthSet.has(spec.labels[best]));
    }
  });
  return expectedCalibrationError(confidence, correct, bins);
}
