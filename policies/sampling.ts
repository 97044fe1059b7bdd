/**
 * Which unlabelled task an annotator sees next, and the `score` that makes Label Studio serve it.
 *
 * A project has a query strategy (margin by default) and an audit share (LABEL_LOOP_AUDIT_PERCENT):
 * audit tasks (dataset/audit.ts) are served in random order, the others in the strategy's order,
 * interleaved so that about `share` of what annotators label is random. The random part is the
 * unbiased audit stream evaluation needs, and it also keeps uncertainty sampling from digging
 * into one confusing corner (the "slump below random" measured on the 15-genre Brown corpus;
 * BENCHMARKS.md "Strategies").
 *
 * Label Studio's uncertainty sampling and the Data Manager tab serve the LOWEST score first, and
 * Label Studio 1.23 refuses scores outside [0, 1]. So the score pushed with a prediction is a
 * queue position in [0, 1]:
 *   - a strategy task's score is absolute, so tasks predicted in later rounds slot in correctly:
 *     margin → p1 − p2; least_confidence → p(top label); entropy → 1 − H / H_max; random → a
 *     per-task pseudo-random number;
 *   - an audit task gets the score found at its random quantile among the strategy tasks'
 *     scores, so in ascending order audit and strategy tasks alternate in proportion;
 *   - diverse_margin: margins as for margin, re-dealt among the most uncertain tasks in the order
 *     of a farthest-first traversal of their features (activities/prediction.ts), so a session
 *     does not spend its labels on near-duplicates.
 */

export const SAMPLING_STRATEGIES = ['margin', 'least_confidence', 'entropy', 'diverse_margin', 'random'] as const;
export type SamplingStrategy = (typeof SAMPLING_STRATEGIES)[number];
export const DEFAULT_STRATEGY: SamplingStrategy = 'margin';
/** Default share of the audit stream (LABEL_LOOP_AUDIT_PERCENT 25). */
export const DEFAULT_AUDIT_SHARE = 0.25;

/** The uncertainty measures stored with every prediction (model/uncertainty.ts). */
export interface Uncertainty {
  /** Confidence of the predicted label(s), in [0, 1]. */
  score: number;
  /** 1 − p(max): larger = less certain. */
  leastConfidence: number;
  /** p1 − p2: smaller = less certain. */
  margin: number;
  /** Nats: larger = less certain. */
  entropy: number;
}

/** Prediction column and direction that put the least certain task first (SQL ordering). */
export const ORDERING: Record<Exclude<SamplingStrategy, 'random'>, { column: 'least_confidence' | 'margin' | 'entropy'; descending: boolean }> = {
  least_confidence: { column: 'least_confidence', descending: true },
  margin: { column: 'margin', descending: false },
  diverse_margin: { column: 'margin', descending: false },
  entropy: { column: 'entropy', descending: true },
};

/**
 * The strategy's absolute queue score of a prediction, in [0, 1], lower = served sooner.
 * `randomDraw` is the task's own pseudo-random number (used by the random strategy).
 */
export function strategyScore(u: Uncertainty, strategy: SamplingStrategy, maxEntropy: number, randomDraw: number): number {
  switch (strategy) {
    case 'least_confidence':
      return clamp(u.score);
    case 'margin':
    case 'diverse_margin':
      return clamp(u.margin);
    case 'entropy':
      return maxEntropy > 0 ? clamp(1 - u.entropy / maxEntropy) : 1;
    case 'random':
      return clamp(randomDraw);
  }
}

/**
 * Where an audit task slots in: between the scores at quantile `q` ∈ [0, 1) of `sortedScores`
 * (ascending) and the one before it, so about `q` of the strategy tasks come first and the audit
 * task ties with none of them (Label Studio's order among equal scores is its own).
 */
export function auditScore(sortedScores: ArrayLike<number>, q: number): number {
  const n = sortedScores.length;
  if (n === 0) return clamp(q);
  const i = Math.min(n - 1, Math.floor(q * n));
  const before = i > 0 ? sortedScores[i - 1] : 0;
  return clamp((before + sortedScores[i]) / 2);
}

/**
 * Interleaves two queues so that the audit items stay about `share` of everything labelled: the
 * next item is an audit item when one more would not exceed the share of the labels so far
 * (`served` = the project's labelled tasks and how many of them are audit items). So a client
 * that asks for one task at a time still gets its share of random ones, and a project behind on
 * its audit share (skipped tasks, labels made elsewhere) catches up. Falls back to the other
 * queue when one runs out. Both inputs are already in serving order.
 */
export function interleave<T>(strategy: readonly T[], audit: readonly T[], share: number, limit: number, served: { labelled: number; audit: number } = { labelled: 0, audit: 0 }): T[] {
  const out: T[] = [];
  let s = 0;
  let a = 0;
  let labelled = served.labelled;
  let audited = served.audit;
  while (out.length < limit && (s < strategy.length || a < audit.length)) {
    const wantAudit = audited + 1 <= share * (labelled + 1) + 1e-9;
    if ((wantAudit && a < audit.length) || s >= strategy.length) {
      out.push(audit[a++]);
      audited++;
    } else out.push(strategy[s++]);
    labelled++;
  }
  return out;
}

/** Maximum entropy (nats) of a prediction over `labels` labels: ln L (single-label), L·ln 2 (multi-label). */
export function maxEntropyOf(labels: number, multiLabel: boolean): number {
  return multiLabel ? labels * Math.LN2 : Math.log(Math.max(labels, 1));
}

function clamp(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 1;
}
