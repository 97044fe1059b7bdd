/**
 * Evaluation and promotion: how good is the candidate the round trained on every label, and does
 * it replace the champion?
 *
 * Quality is estimated on the audit items (labels of tasks served at random: dataset/audit.ts) by
 * k-fold cross-validation (model/crossValidation.ts): each audit item is predicted by a model that
 * was trained on every other label. Before there are enough audit items, cross-validation over all
 * labels stands in, marked `cv-all` (biased towards the hard cases uncertainty sampling picked).
 * The gate (policies/promotion.ts) compares candidate and champion on the same audit items: the
 * candidate's out-of-fold predictions against the champion's own out-of-fold predictions where
 * the champion was trained on the item, and its plain predictions where it never saw it.
 */
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import {
  auditPredictionsOf,
  decidePromotion,
  getChampionVersion,
  getModel,
  getSnapshot,
  loadWeights,
  poolData,
  saveAuditPredictions,
  saveEvaluation,
  snapshotExamplesWithAudit,
  snapshotHasTasks,
  tasksMissingFrom,
  type ModelRow,
} from '../store/index.js';
import { Classifier, countFeatures, defaultSpec, defaultTrainOptions, fitIdfOn, type TrainOptions } from '../model/classifier.js';
import { evaluate, majorityBaseline, type EvaluationMetrics } from '../model/metrics.js';
import { expectedCalibrationError, wilsonInterval, bootstrapInterval, type Estimate } from '../model/evaluation.js';
import { outOfFoldProbabilities } from '../model/crossValidation.js';
import { scorePrediction } from '../model/uncertainty.js';
import { decide, type Evidence } from '../policies/promotion.js';
import type { RoundConfig } from './index.js';
import { nonRetryable } from './failures.js';
import { taskText, type ClassificationTask } from '../labelstudio/labelConfig.js';
import { progressReporter, type ProgressSink } from './progress.js';

export interface EvaluationDeps {
  db: Db;
  config: RoundConfig;
  log: Logger;
  progress?: ProgressSink;
}

export type { Estimate };

/** Texts of the task pool the IDF is fitted on (the same sample for training and evaluation). */
export async function poolTextsOf(db: Db, projectId: number, task: ClassificationTask, limit: number): Promise<string[]> {
  return (await poolData(db, projectId, limit)).map((d) => taskText(task, d)).filter((t): t is string => t !== undefined);
}

/** A label set as one comparable key (single-label: the label). */
const key = (labels: readonly string[]) => [...labels].sort().join('\u0000');

const sameLabels = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((l, i) => l === b[i]);

/** Training options minus the seed: what "the same settings" means for the gate. */
const settingsOf = (o: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(o ?? {}).filter(([k]) => k !== 'seed').sort()));

export function evaluationActivities({ db, config, log, progress }: EvaluationDeps) {
  async function mustGetModel(projectId: number, version: string): Promise<ModelRow> {
    const model = await getModel(db, projectId, version);
    if (!model) throw nonRetryable(`model ${version} of project ${projectId} does not exist`, 'MissingModel');
    return model;
  }

  return {
    /**
     * Estimates the candidate's quality on the audit items, compares it with the champion on the
     * same items and records the gate's proposed decision with its evidence (promoteIfBetter
     * applies it). Deterministic for a snapshot and seed; running it twice records the same.
     */
    async evaluateCandidate({ projectId, modelVersion, round }: { projectId: number; modelVersion: string; round?: number }) {
      const model = await mustGetModel(projectId, modelVersion);
      const snap = await getSnapshot(db, model.snapshotId);
      const examples = await snapshotExamplesWithAudit(db, model.snapshotId);
      const spec = defaultSpec(snap.task.labels, snap.task.multiLabel);
      const candidate = Classifier.deserialize(await loadWeights(db, projectId, modelVersion));
      const report = progressReporter(progress, projectId, round, 'evaluate');
      const options = model.trainOptions as unknown as TrainOptions;
      const info = candidate.info;
      const k = config.cvFolds;
      const auditCount = examples.filter((e) => e.audit).length;
      const source: Estimate['source'] = auditCount >= 2 * k ? 'audit' : examples.length >= 2 * k ? 'cv-all' : 'none';
      const scored = examples.map((e) => (source === 'audit' ? e.audit : source === 'cv-all'));
      const items = examples.filter((_, i) => scored[i]);
      let probs: number[][] = [];
      try {
        if (source !== 'none' && info) {
          const idf = fitIdfOn(countFeatures(await poolTextsOf(db, projectId, snap.task, config.idfPoolSize), spec));
          probs = await outOfFoldProbabilities({
            spec,
            examples,
            scored,
            folds: k,
            // The deployed model's choices, fixed: k plain fits instead of k full searches. Each
            // fold stops at convergence even when the candidate ran every epoch (tolerance 0, an
            // operator's deliberately long training): the extra passes only polish the same optimum.
            options: {
              ...options,
              tolerance: options.tolerance > 0 ? options.tolerance : defaultTrainOptions(options.seed).tolerance,
              nbWeight: info.nbWeight,
              nbSmoothing: info.nbSmoothing > 0 ? info.nbSmoothing : 0.03,
              calibrate: false,
            },
            temperature: info.temperature,
            idf,
            seed: options.seed,
            onFold: (fold, folds) => report(fold, folds, 'folds', `fold ${fold} of ${folds} (${items.length} ${source === 'audit' ? 'audit items' : 'labels'})`),
          });
        }
      } finally {
        candidate.dispose();
      }

      const truth = items.map((e) => e.labels);
      const candidateMetrics = evaluate(truth, probs, spec);
      const predicted = probs.map((p) => scorePrediction(p, spec));
      const correct = predicted.map((p, i) => key(p.labels) === key(truth[i]));
      const accuracy = wilsonInterval(correct.filter(Boolean).length, correct.length, 1 - config.promotionConfidence);
      const macro = items.length > 0 ? bootstrapInterval(truth.map(key), predicted.map((p) => key(p.labels)), 'macroF1', 1 - config.promotionConfidence, options.seed) : { low: 0, high: 1 };
      const estimate: Estimate = {
        source,
        n: items.length,
        folds: k,
        accuracy: { value: candidateMetrics.accuracy, low: accuracy.low, high: accuracy.high },
        macroF1: { value: candidateMetrics.macroF1, low: macro.low, high: macro.high },
        ece: items.length ? expectedCalibrationError(predicted.map((p) => p.score), correct).ece : 0,
      };
      if (source === 'audit') {
        await saveAuditPredictions(db, projectId, modelVersion, items.map((e, i) => ({ taskId: e.taskId, labels: predicted[i].labels })));
      }

      // The incumbent on the same items: the champion (if it answers in these labels) or the majority baseline.
      const championVersion = await getChampionVersion(db, projectId);
      const champion = championVersion && championVersion !== modelVersion ? await mustGetModel(projectId, championVersion) : null;
      const championLabels = champion ? (await getSnapshot(db, champion.snapshotId)).task.labels : null;
      const labelsChanged = !!championLabels && !sameLabels(championLabels, snap.task.labels);
      const baselineMetrics = majorityBaseline(examples.map((e) => e.labels), truth, spec);
      const majority = majorityKey(examples.map((e) => key(e.labels)));
      let incumbent: string[] = truth.map(() => majority);
      let paired = items.map((_, i) => i);
      let championMetrics: EvaluationMetrics | null = null;
      if (champion && !labelsChanged && source === 'audit') {
        const seen = await auditPredictionsOf(db, projectId, champion.version);
        const covered = await snapshotHasTasks(db, champion.snapshotId, items.map((e) => e.taskId));
        const fresh = items.map((e, i) => (!covered.has(e.taskId) ? i : -1)).filter((i) => i >= 0);
        const champ = Classifier.deserialize(await loadWeights(db, projectId, champion.version));
        try {
          const freshProbs = fresh.length ? champ.predictProba(fresh.map((i) => items[i].text)) : [];
          const answers = new Map<number, string>();
          fresh.forEach((i, r) => answers.set(i, key(scorePrediction(freshProbs[r], spec).labels)));
          items.forEach((e, i) => {
            const oof = seen.get(e.taskId);
            if (!answers.has(i) && oof) answers.set(i, key(oof));
          });
          // An item the champion trained on without an out-of-fold answer of its own is left out:
          // its training answer would flatter it.
          paired = items.map((_, i) => i).filter((i) => answers.has(i));
          incumbent = paired.map((i) => answers.get(i)!);
          const champTruth = paired.map((i) => truth[i]);
          championMetrics = paired.length ? accuracyOnly(champTruth, incumbent, spec.labels) : null;
        } finally {
          champ.dispose();
        }
      } else if (source !== 'audit') {
        paired = [];
        incumbent = [];
      }
      // Every task the champion learned from is still labelled (perhaps relabelled) for the candidate.
      const superset = champion ? (await tasksMissingFrom(db, model.snapshotId, champion.snapshotId)) === 0 : true;
      const evidence = decide(
        {
          candidateVersion: modelVersion,
          championVersion: champion ? champion.version : null,
          labelsChanged,
          superset,
          sameSettings: !champion || settingsOf(champion.trainOptions) === settingsOf(model.trainOptions),
          evidence: { truth: paired.map((i) => key(truth[i])), candidate: paired.map((i) => key(predicted[i].labels)), incumbent },
        },
        { metric: config.promotionMetric, confidence: config.promotionConfidence, seed: options.seed },
      );
      await saveEvaluation(db, {
        projectId,
        version: modelVersion,
        metrics: { ...candidateMetrics, ece: estimate.ece },
        championVersion,
        championMetrics,
        baselineMetrics,
        estimate,
        evidence,
      });
      log.info({ projectId, round, modelVersion, source, n: items.length, accuracy: estimate.accuracy, decision: evidence.decision }, 'evaluated a candidate');
      return { candidate: candidateMetrics, champion: championMetrics, championVersion, baseline: baselineMetrics, estimate, evidence };
    },

    /**
     * Applies the evaluation's proposed decision atomically: at most one champion per project,
     * decided once. A champion that changed since the evaluation (an operator's promotion) makes
     * the candidate lose: its evidence was gathered against another model.
     */
    async promoteIfBetter({ projectId, modelVersion }: { projectId: number; modelVersion: string }) {
      return decidePromotion(db, projectId, modelVersion, (candidate, current) => {
        const evidence = candidate.evidence as Evidence | null;
        if (!evidence) throw nonRetryable(`model ${modelVersion} has not been evaluated`, 'NotEvaluated');
        if (current !== candidate.championVersion) {
          return { promote: false, reason: `rejected: the champion changed to ${current} after evaluation against ${candidate.championVersion}` };
        }
        return { promote: evidence.decision === 'promoted', reason: evidence.reason };
      });
    },
  };
}

/** The most frequent label-set key (ties: the first seen), what the majority baseline predicts. */
function majorityKey(keys: readonly string[]): string {
  const counts = new Map<string, number>();
  let best = keys[0] ?? '';
  for (const k of keys) {
    const c = (counts.get(k) ?? 0) + 1;
    counts.set(k, c);
    if (c > (counts.get(best) ?? 0)) best = k;
  }
  return best;
}

/**
 * Accuracy (exact label set) and macro-F1 (per label: binary F1 over the sets, which for a
 * single-label project is the per-class F1) of predicted label-set keys, for the champion's line
 * in the evidence (its out-of-fold answers carry no probabilities, so no log-loss: 0).
 */
function accuracyOnly(truth: string[][], predicted: string[], labels: string[]): EvaluationMetrics {
  const n = truth.length;
  let right = 0;
  const perClassF1: Record<string, number> = {};
  const sets = predicted.map((k) => new Set(k === '' ? [] : k.split('\u0000')));
  truth.forEach((t, i) => {
    if (key(t) === predicted[i]) right++;
  });
  for (const l of labels) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    truth.forEach((t, i) => {
      const inTruth = t.includes(l);
      const inPred = sets[i].has(l);
      if (inTruth && inPred) tp++;
      else if (inPred) fp++;
      else if (inTruth) fn++;
    });
    if (tp + fp + fn > 0) perClassF1[l] = (2 * tp) / (2 * tp + fp + fn);
  }
  const f1 = Object.values(perClassF1);
  return { n, accuracy: n ? right / n : 0, macroF1: f1.length ? f1.reduce((a, b) => a + b, 0) / f1.length : 0, perClassF1, logLoss: 0 };
}
