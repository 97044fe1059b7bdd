/**
 * Turns one row of class probabilities into a prediction plus the uncertainty scores used to pick
 * which tasks to label next.
 */
import type { ModelSpec } from './classifier.js';

export interface ScoredPrediction {
  /** Predicted labels: one (single-label) or those with p ≥ 0.5 (multi-label; may be empty). */
  labels: string[];
  /** Confidence in [0, 1] of the prediction as a whole; always 1 − leastConfidence. */
  score: number;
  /** In [0, 1]; LARGER = more uncertain. */
  leastConfidence: number;
  /** In [0, 1]; SMALLER = more uncertain. */
  margin: number;
  /** Nats, ≥ 0; LARGER = more uncertain. At most ln L (single-label) or L·ln 2 (multi-label). */
  entropy: number;
}

/**
 * Scores `probs` (one value per label, in `spec.labels` order).
 *
 * Single-label (softmax row):
 *   labels = [argmax] (ties → the earlier label), score = p_max, leastConfidence = 1 − p_max,
 *   margin = p_max − p_second, entropy = −Σ p·ln p.
 * Multi-label (independent sigmoids):
 *   labels = every label with p ≥ 0.5. When none reaches 0.5 the prediction is the empty set ("none of
 *   these"), which is a legitimate multi-label answer; callers that must show a label can take the argmax.
 *   Each label's decision has confidence c_j = max(p_j, 1 − p_j);
 *   score = min_j c_j (the weakest decision bounds how far the whole set can be trusted, and it keeps
 *   score = 1 − leastConfidence as in single-label), leastConfidence = 1 − min_j c_j,
 *   margin = min_j |2·p_j − 1| (distance of the closest call from the threshold, scaled to [0, 1];
 *   equals p_max − p_second for one binary decision), entropy = Σ_j binary entropy of p_j.
 * Values are clamped to [0, 1] first (float32 softmax rows can exceed 1 by an ulp); NaN throws.
 */
export function scorePrediction(probs: number[], spec: Pick<ModelSpec, 'labels' | 'multiLabel'>): ScoredPrediction {
  const L = spec.labels.length;
  if (!Array.isArray(probs) || probs.length !== L) {
    throw new Error(`scorePrediction: got ${probs?.length} probabilities for ${L} labels`);
  }
  if (L === 0) throw new Error('scorePrediction: the spec has no labels');
  const p = probs.map((value, j) => {
    if (typeof value !== 'number' || Number.isNaN(value)) throw new Error(`scorePrediction: probability ${j} is ${value}`);
    return Math.min(1, Math.max(0, value));
  });

  if (spec.multiLabel) {
    let minConfidence = 1;
    let margin = 1;
    let entropy = 0;
    const labels: string[] = [];
    p.forEach((pj, j) => {
      if (pj >= 0.5) labels.push(spec.labels[j]);
      minConfidence = Math.min(minConfidence, Math.max(pj, 1 - pj));
      margin = Math.min(margin, Math.abs(2 * pj - 1));
      entropy += plogp(pj) + plogp(1 - pj);
    });
    return { labels, score: minConfidence, leastConfidence: 1 - minConfidence, margin, entropy };
  }

  let best = 0;
  for (let j = 1; j < L; j++) if (p[j] > p[best]) best = j;
  let second = -Infinity;
  for (let j = 0; j < L; j++) if (j !== best) second = Math.max(second, p[j]);
  const entropy = p.reduce((sum, pj) => sum + plogp(pj), 0);
  return {
    labels: [spec.labels[best]],
    score: p[best],
    leastConfidence: 1 - p[best],
    margin: L > 1 ? p[best] - second : 1,
    entropy,
  };
}

/** −p·ln p, with the limit 0 at p = 0. */
function plogp(p: number): number {
  return p > 0 ? -p * Math.log(p) : 0;
}
