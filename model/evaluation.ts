/**
 * Evaluation primitives for model comparison and promotion: pure, deterministic (seeded), no I/O.
 *
 *  - stratifiedKFold: fold assignment for k-fold cross-validation;
 *  - wilsonInterval: confidence interval of a proportion (accuracy on n items);
 *  - mcnemar: exact and mid-p McNemar test on paired correctness of two models;
 *  - pairedBootstrap: bootstrap CI of the difference of accuracy / macro-F1 between two models
 *    scored on the same items;
 *  - promotionDecision: the gate built from them (see its comment);
 *  - expectedCalibrationError / fitTemperature: re-exported from calibration.ts.
 */
import { deriveSeed, mulberry32, shuffleInPlace } from './random.js';

export { calibrationOf, expectedCalibrationError, fitTemperature } from './calibration.js';

/**
 * Fold index (0 … k−1) for each item, stratified by `strata` (e.g. the label): within each stratum,
 * items are shuffled with the seed and dealt round-robin, continuing where the previous stratum
 * stopped, so every fold gets ⌊n/k⌋ or ⌈n/k⌉ items and each stratum is spread as evenly as possible.
 * Strata are processed in sorted order, so the result depends only on (strata, k, seed).
 */
export function stratifiedKFold(strata: readonly (string | number)[], k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new Error(`stratifiedKFold: k must be an integer ≥ 2, got ${k}`);
  if (strata.length < k) throw new Error(`stratifiedKFold: ${strata.length} items cannot fill ${k} folds`);
  const groups = new Map<string, number[]>();
  strata.forEach((s, i) => {
    const key = typeof s === 'number' ? `n:${s}` : `s:${s}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  const folds = new Int32Array(strata.length);
  const random = mulberry32(deriveSeed(seed, 0xf0cd));
  let next = 0;
  for (const key of [...groups.keys()].sort()) {
    const members = groups.get(key)!;
    shuffleInPlace(members, random);
    for (const i of members) folds[i] = next++ % k;
  }
  return folds;
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** Standard normal quantile for a two-sided (1 − alpha) interval, e.g. 1.95996… for alpha 0.05. */
export function normalQuantile(p: number): number {
  // Acklam's rational approximation (|relative error| < 1.2e-9), then one Newton step on erf.
  if (!(p > 0 && p < 1)) throw new Error(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  return x;
}

/**
 * Wilson score interval for `successes` out of `n` (e.g. correct predictions on an audit set),
 * two-sided at confidence 1 − alpha. n = 0 gives [0, 1] around NaN-free estimate 0.
 */
export function wilsonInterval(successes: number, n: number, alpha = 0.05): Interval {
  if (!Number.isInteger(n) || n < 0 || !(successes >= 0 && successes <= n)) throw new Error(`wilsonInterval: need 0 ≤ successes ≤ n, got ${successes}/${n}`);
  if (n === 0) return { estimate: 0, low: 0, high: 1 };
  const z = normalQuantile(1 - alpha / 2);
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface McNemarResult {
  /** Items model A got right and B wrong. */
  aOnly: number;
  /** Items B got right and A wrong. */
  bOnly: number;
  /** Two-sided exact binomial p-value on the discordant pairs (1 when there are none). */
  exactP: number;
  /** Two-sided mid-p value (exact p minus the probability of the observed table), less conservative. */
  midP: number;
}

/**
 * McNemar's test for two models scored on the same items: under H0 (equal accuracy) the discordant
 * pairs split Binomial(aOnly + bOnly, ½). Exact two-sided p = min(1, 2·P(X ≤ min(b, c))); mid-p =
 * 2·P(X ≤ m) − P(X = m), m = min(b, c) (Fagerland et al. 2013 recommend the mid-p version).
 */
export function mcnemar(correctA: ArrayLike<boolean>, correctB: ArrayLike<boolean>): McNemarResult {
  if (correctA.length !== correctB.length) throw new Error('mcnemar: the two correctness vectors differ in length');
  let aOnly = 0;
  let bOnly = 0;
  for (let i = 0; i < correctA.length; i++) {
    if (correctA[i] && !correctB[i]) aOnly++;
    else if (!correctA[i] && correctB[i]) bOnly++;
  }
  return { aOnly, bOnly, ...mcnemarFromCounts(aOnly, bOnly) };
}

/** McNemar p-values from the discordant counts alone. */
export function mcnemarFromCounts(b: number, c: number): { exactP: number; midP: number } {
  const n = b + c;
  if (n === 0) return { exactP: 1, midP: 1 };
  const m = Math.min(b, c);
  // log P(X = i) for X ~ Binomial(n, ½), summed in log space for large n.
  const logPmf = (i: number) => logChoose(n, i) - n * Math.LN2;
  let cdf = 0;
  for (let i = 0; i <= m; i++) cdf += Math.exp(logPmf(i));
  const exactP = Math.min(1, 2 * cdf);
  const midP = Math.min(1, 2 * cdf - Math.exp(logPmf(m)));
  return { exactP, midP };
}

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~15 significant digits). */
function logGamma(x: number): number {
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = g[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += g[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

export type PairedMetric = 'accuracy' | 'macroF1';

export interface BootstrapResult {
  metric: PairedMetric;
  /** metric(B) − metric(A) on the items as given. */
  difference: number;
  /** Percentile interval of the difference over the bootstrap resamples, at confidence 1 − alpha. */
  low: number;
  high: number;
  /** Share of resamples with difference ≤ 0 (a one-sided bootstrap p-value for "B better than A"). */
  shareNotBetter: number;
  resamples: number;
}

/**
 * Paired bootstrap of metric(B) − metric(A) for two models' predictions on the same items:
 * resample item indices with replacement (seeded), recompute both metrics on each resample. Labels
 * are single-label class names (or any comparable strings). macroF1 averages per-class F1 over the
 * classes that occur as truth or prediction in the resample.
 */
export function pairedBootstrap(args: {
  truth: readonly string[];
  predictedA: readonly string[];
  predictedB: readonly string[];
  metric?: PairedMetric;
  resamples?: number;
  alpha?: number;
  seed: number;
}): BootstrapResult {
  const { truth, predictedA, predictedB, seed } = args;
  const metric = args.metric ?? 'accuracy';
  const resamples = args.resamples ?? 2000;
  const alpha = args.alpha ?? 0.05;
  const n = truth.length;
  if (predictedA.length !== n || predictedB.length !== n) throw new Error('pairedBootstrap: truth and predictions differ in length');
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`pairedBootstrap: resamples must be a positive integer, got ${resamples}`);
  const classes = [...new Set([...truth, ...predictedA, ...predictedB])].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const t = Int32Array.from(truth, (c) => index.get(c)!);
  const a = Int32Array.from(predictedA, (c) => index.get(c)!);
  const b = Int32Array.from(predictedB, (c) => index.get(c)!);
  const K = classes.length;
  const counts = new Int32Array(n);
  const value = (pred: Int32Array): number => {
    if (metric === 'accuracy') {
      let right = 0;
      let total = 0;
      for (let i = 0; i < n; i++) {
        total += counts[i];
        if (pred[i] === t[i]) right += counts[i];
      }
      return total > 0 ? right / total : 0;
    }
    const tp = new Float64Array(K);
    const fp = new Float64Array(K);
    const fn = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      const w = counts[i];
      if (w === 0) continue;
      if (pred[i] === t[i]) tp[t[i]] += w;
      else {
        fp[pred[i]] += w;
        fn[t[i]] += w;
      }
    }
    let sum = 0;
    let present = 0;
    for (let c = 0; c < K; c++) {
      const denominator = 2 * tp[c] + fp[c] + fn[c];
      if (denominator === 0) continue;
      sum += (2 * tp[c]) / denominator;
      present++;
    }
    return present > 0 ? sum / present : 0;
  };
  counts.fill(1);
  const difference = value(b) - value(a);
  const random = mulberry32(deriveSeed(seed, 0xb007));
  const diffs = new Float64Array(resamples);
  let notBetter = 0;
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[Math.floor(random() * n)]++;
    const d = value(b) - value(a);
    diffs[r] = d;
    if (d <= 0) notBetter++;
  }
  diffs.sort();
  const quantile = (q: number) => diffs[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { metric, difference, low: quantile(alpha / 2), high: quantile(1 - alpha / 2), shareNotBetter: notBetter / resamples, resamples };
}

export interface PromotionDecision {
  promote: boolean;
  reason: string;
}

/**
 * The promotion gate, on predictions of champion (A) and candidate (B) for the same randomly
 * chosen audit items (not on items the uncertainty sampler chose, which are biased toward hard
 * cases; see BENCHMARKS.md "Evaluation design"):
 *  - a candidate trained on a superset of the champion's labels is promoted unless it is
 *    significantly worse: McNemar mid-p < alpha with the champion ahead on the discordant items;
 *  - otherwise (different or fewer labels, a new configuration) it must be significantly better:
 *    mid-p < alpha with the candidate ahead.
 * With no audit items, a superset candidate is promoted and any other is kept out.
 */
export function promotionDecision(args: {
  truth: readonly string[];
  champion: readonly string[];
  candidate: readonly string[];
  candidateHasSupersetOfLabels: boolean;
  alpha?: number;
}): PromotionDecision & McNemarResult {
  const alpha = args.alpha ?? 0.05;
  const right = (pred: readonly string[]) => pred.map((p, i) => p === args.truth[i]);
  const test = mcnemar(right(args.champion), right(args.candidate));
  const { aOnly: championOnly, bOnly: candidateOnly, midP } = test;
  const summary = `candidate right where the champion is wrong on ${candidateOnly}, the reverse on ${championOnly} of ${args.truth.length} audit items (McNemar mid-p ${midP.toFixed(3)})`;
  if (args.candidateHasSupersetOfLabels) {
    const worse = midP < alpha && championOnly > candidateOnly;
    return { ...test, promote: !worse, reason: worse ? `kept out: significantly worse; ${summary}` : `promoted: more labels and not significantly worse; ${summary}` };
  }
  const better = midP < alpha && candidateOnly > championOnly;
  return { ...test, promote: better, reason: better ? `promoted: significantly better; ${summary}` : `kept out: not significantly better; ${summary}` };
}

/**
 * Percentile bootstrap interval of one model's accuracy or macro-F1 on labelled items (seeded):
 * the interval a learning-curve point is drawn with. Labels are label-set keys.
 */
export function bootstrapInterval(truth: readonly string[], predicted: readonly string[], metric: PairedMetric, alpha: number, seed: number, resamples = 1000): { low: number; high: number } {
  if (truth.length === 0) return { low: 0, high: 1 };
  // A model against itself shifted by a constant-wrong predictor: the paired bootstrap's B side
  // carries the model, its A side a predictor that is never right, so B − A is the model's metric.
  const never = truth.map(() => '\u0001never');
  const r = pairedBootstrap({ truth, predictedA: never, predictedB: predicted, metric, resamples, alpha, seed });
  return { low: Math.max(0, r.low), high: Math.min(1, r.high) };
}

/** A model's quality estimate with its intervals, as rounds record it and the learning curve reports it. */
export interface Estimate {
  /** audit: cross-validated on the audit items; cv-all: on every label (too few audit items yet); none: too few labels. */
  source: 'audit' | 'cv-all' | 'none';
  n: number;
  folds: number;
  accuracy: { value: number; low: number; high: number };
  macroF1: { value: number; low: number; high: number };
  /** Expected calibration error of the (temperature-scaled) confidences, 15 bins. */
  ece: number;
}
