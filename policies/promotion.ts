/**
 * Whether a trained candidate replaces the project's champion: a pure policy over paired
 * evidence on the same audit items (labels of tasks served at random, so the comparison is not
 * tilted by the hard cases uncertainty sampling picks). The store applies the decision
 * atomically (store/models.ts `decidePromotion`); this module decides, and records why.
 *
 * - A candidate trained on a superset of the champion's labels with the same settings replaces it
 *   unless it is significantly worse (more labels win unless there is evidence against them).
 * - Any other candidate (labels deleted or changed, other settings) needs evidence it is better.
 * - A champion for another label set (the config's choices changed) cannot answer in the
 *   project's labels: the candidate replaces it.
 * - The first model is compared with the majority-class baseline as if that were the champion.
 *
 * "Significant" is McNemar's mid-p test on the paired correctness at the configured confidence
 * (default 95 %); the effect size is reported with a seeded paired-bootstrap interval of the
 * difference in the chosen metric (accuracy or macro-F1). Both need no distributional
 * assumptions and behave on tiny, skewed samples (a mid-p of 1 when nothing differs).
 */
import { mcnemar, pairedBootstrap } from '../model/evaluation.js';

export interface PromotionPolicy {
  metric: 'macroF1' | 'accuracy';
  /** Confidence of the test, e.g. 0.95 (alpha = 1 − confidence). */
  confidence: number;
  /** Bootstrap resamples for the effect's interval. */
  resamples?: number;
  seed?: number;
}

/** Predictions of the two contenders on the same audit items (label sets as keys: sorted labels joined). */
export interface PairedEvidence {
  truth: readonly string[];
  candidate: readonly string[];
  /** The champion's (or, for a first model, the majority baseline's) predictions. */
  incumbent: readonly string[];
}

export interface GateInput {
  candidateVersion: string;
  /** null: no champion yet (the incumbent is the majority baseline). */
  championVersion: string | null;
  /** The candidate's label set of the project differs from the champion's. */
  labelsChanged: boolean;
  /** The candidate's labelled tasks include every one the champion was trained on. */
  superset: boolean;
  /** The candidate was trained with the champion's settings (seed aside). */
  sameSettings: boolean;
  evidence: PairedEvidence;
}

export interface Evidence {
  decision: 'promoted' | 'rejected';
  rule: 'labels-changed' | 'not-significantly-worse' | 'significantly-better';
  metric: 'accuracy' | 'macroF1';
  /** Paired audit items. */
  n: number;
  /** metric(candidate) − metric(incumbent) on those items, and its bootstrap interval. */
  delta: number;
  low: number;
  high: number;
  confidence: number;
  test: 'mcnemar-midp';
  pValue: number;
  /** Items only the candidate got right / only the incumbent got right. */
  candidateOnly: number;
  incumbentOnly: number;
  incumbent: string;
  reason: string;
}

const fmt = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(4);

export function decide(input: GateInput, policy: PromotionPolicy): Evidence {
  const { evidence } = input;
  const n = evidence.truth.length;
  const alpha = 1 - policy.confidence;
  const incumbent = input.championVersion ?? 'the majority baseline';
  const right = (pred: readonly string[]) => pred.map((p, i) => p === evidence.truth[i]);
  const test = mcnemar(right(evidence.incumbent), right(evidence.candidate));
  const boot =
    n > 0
      ? pairedBootstrap({
          truth: evidence.truth,
          predictedA: evidence.incumbent,
          predictedB: evidence.candidate,
          metric: policy.metric,
          resamples: policy.resamples ?? 2000,
          alpha,
          seed: policy.seed ?? 1,
        })
      : { difference: 0, low: 0, high: 0 };
  const base = {
    metric: policy.metric,
    n,
    delta: boot.difference,
    low: boot.low,
    high: boot.high,
    confidence: policy.confidence,
    test: 'mcnemar-midp' as const,
    pValue: test.midP,
    candidateOnly: test.bOnly,
    incumbentOnly: test.aOnly,
    incumbent,
  };
  const summary = `${policy.metric} ${fmt(boot.difference)} [${fmt(boot.low)}, ${fmt(boot.high)}] vs ${incumbent} on ${n} audit items; candidate alone right on ${test.bOnly}, ${incumbent} alone on ${test.aOnly} (McNemar mid-p ${test.midP.toFixed(3)})`;

  if (input.championVersion && input.labelsChanged) {
    return { ...base, decision: 'promoted', rule: 'labels-changed', reason: `promoted: the project's labels changed; champion ${input.championVersion} cannot answer in them` };
  }
  const significant = n > 0 && test.midP < alpha;
  if (input.superset && input.sameSettings) {
    const worse = significant && test.aOnly > test.bOnly;
    return {
      ...base,
      decision: worse ? 'rejected' : 'promoted',
      rule: 'not-significantly-worse',
      reason: worse ? `rejected: significantly worse with more labels; ${summary}` : `promoted: more labels, not significantly worse; ${summary}`,
    };
  }
  const better = significant && test.bOnly > test.aOnly;
  const why = input.superset ? 'other settings' : 'labels were removed or changed';
  return {
    ...base,
    decision: better ? 'promoted' : 'rejected',
    rule: 'significantly-better',
    reason: better ? `promoted: significantly better (${why}); ${summary}` : `rejected: not significantly better (${why}); ${summary}`,
  };
}
