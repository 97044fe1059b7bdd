/**
 * Out-of-fold predictions for the examples a round evaluates on (the audit items: labels of tasks
 * served at random, so an unbiased sample of the pool), from k models each trained on every other
 * label. The deployed model is trained on all labels; these estimate how it does on tasks it has
 * not seen, without holding any label back from it (BENCHMARKS.md "Evaluation design": bias
 * −0.4 / +0.2 points, where a 20 % hold-out of uncertainty-chosen labels was −8.8).
 *
 * Cost: k extra trainings with the full model's hyper-parameters fixed (NB weight and smoothing,
 * no inner calibration search), each one linear fit; the full model's temperature is applied to
 * their scores so log-loss and calibration error describe the deployed model.
 */
import { stratifiedKFold } from './evaluation.js';
import { trainClassifier, type Example, type Idf, type ModelSpec, type TrainOptions } from './classifier.js';

export interface CrossValidationInput {
  spec: ModelSpec;
  /** Every labelled example of the snapshot. */
  examples: readonly Example[];
  /** Which examples are scored (the audit items); at least 2 per fold. */
  scored: readonly boolean[];
  /** k ≥ 2. */
  folds: number;
  /** Options of the fold models: the deployed model's with its chosen nbWeight / nbSmoothing and `calibrate: false`. */
  options: TrainOptions;
  /** The deployed model's temperature, applied to the fold models' probabilities. */
  temperature: number;
  /** The IDF the deployed model used (fitted on the task pool), so fold models see the same features. */
  idf: Idf;
  seed: number;
  /** Called after each fold (heartbeats). */
  onFold?: (fold: number, folds: number) => Promise<void> | void;
}

/** Probabilities [scored.length][L], in the order of the scored examples. */
export async function outOfFoldProbabilities(input: CrossValidationInput): Promise<number[][]> {
  const scoredIndex: number[] = [];
  input.scored.forEach((s, i) => s && scoredIndex.push(i));
  if (scoredIndex.length < input.folds * 2) throw new Error(`outOfFoldProbabilities: ${scoredIndex.length} scored examples for ${input.folds} folds`);
  const strata = scoredIndex.map((i) => [...input.examples[i].labels].sort().join('\u0000'));
  const fold = stratifiedKFold(strata, input.folds, input.seed);
  const out: number[][] = new Array(scoredIndex.length);
  for (let f = 0; f < input.folds; f++) {
    const held = new Set<number>();
    scoredIndex.forEach((i, j) => fold[j] === f && held.add(i));
    const train = input.examples.filter((_, i) => !held.has(i));
    const model = await trainClassifier(input.spec, train, input.options, { idf: input.idf });
    try {
      const positions = scoredIndex.map((i, j) => (fold[j] === f ? j : -1)).filter((j) => j >= 0);
      const probs = model.predictProba(positions.map((j) => input.examples[scoredIndex[j]].text));
      positions.forEach((j, r) => (out[j] = withTemperature(probs[r], input.temperature, input.spec.multiLabel)));
    } finally {
      model.dispose();
    }
    await input.onFold?.(f + 1, input.folds);
  }
  return out;
}

/**
 * Probabilities at temperature T from probabilities at T = 1: softmax(s / T) from softmax(s) by
 * p^(1/T), renormalised (single-label), σ(s / T) from σ(s) through the logit (multi-label).
 */
export function withTemperature(p: readonly number[], temperature: number, multiLabel: boolean): number[] {
  if (temperature === 1) return [...p];
  const eps = 1e-12;
  if (multiLabel) {
    return p.map((q) => {
      const c = Math.min(1 - eps, Math.max(eps, q));
      return 1 / (1 + Math.exp(-Math.log(c / (1 - c)) / temperature));
    });
  }
  const logs = p.map((q) => Math.log(Math.max(eps, q)) / temperature);
  const max = Math.max(...logs);
  const exps = logs.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
