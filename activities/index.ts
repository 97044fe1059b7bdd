import { createHash } from 'node:crypto';
import { activityInfo, ApplicationFailure, heartbeat, sleep } from '@temporalio/activity';
import type { Db } from '../store/db.js';
import {
  createSnapshot,
  decidePromotion,
  getChampionVersion,
  getLabelConfig,
  getModel,
  getSnapshot,
  loadCheckpoint,
  loadWeights,
  registerTraining,
  saveCheckpoint,
  saveEvaluation,
  savePredictions,
  saveTrainedModel,
  snapshotExamples,
  taskData,
  tasksToPredict,
  type ModelRow,
} from '../store/index.js';
import { parseLabelConfig, taskText, UnsupportedLabelConfigError } from '../labelstudio/labelConfig.js';
import { Classifier, defaultSpec, defaultTrainOptions, trainClassifier, type TrainOptions } from '../model/classifier.js';
import { evaluate, majorityBaseline } from '../model/metrics.js';
import { scorePrediction } from '../model/uncertainty.js';
import { initBackend } from '../model/backend.js';
import type { Metrics, TrainOverrides } from '../workflows/definitions.js';
import type { ProjectSync } from './projectSync.js';
import { LabelStudioError } from '../labelstudio/client.js';

/** What rounds are allowed to vary, read from the environment by worker/config.ts. */
export interface RoundConfig {
  heldOutPercent: number;
  /** A snapshot needs at least this many labelled tasks in its train split. */
  minTrainExamples: number;
  promotionMetric: 'macroF1' | 'accuracy';
  /** The candidate must beat the champion's metric by more than this (0 = any improvement). */
  promotionMargin: number;
  predictChunkSize: number;
  /** Pause between prediction chunks, to leave CPU to an API sharing the machine. */
  predictChunkPauseMs: number;
  train: Partial<TrainOptions>;
  seed: number;
}

export interface ActivityDeps {
  db: Db;
  config: RoundConfig;
  /** Label Studio reconciliation and push-back; absent when no Label Studio API is configured. */
  projectSync?: ProjectSync;
}

const nonRetryable = (message: string, type: string) => ApplicationFailure.create({ message, type, nonRetryable: true });

/** Label Studio errors that retrying cannot fix (bad token, missing project) stop the round with their message. */
async function labelStudioCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LabelStudioError && err.permanent) throw nonRetryable(err.message, 'LabelStudioRejected');
    throw err;
  }
}

export function createActivities({ db, config, projectSync }: ActivityDeps) {
  async function classificationTask(projectId: number) {
    const labelConfig = await getLabelConfig(db, projectId);
    if (!labelConfig) {
      throw nonRetryable(
        `project ${projectId} has no label config yet: connect Label Loop as the project's ML backend (Label Studio then calls /setup), or send a webhook with the project`,
        'MissingLabelConfig',
      );
    }
    try {
      return { labelConfig, task: parseLabelConfig(labelConfig) };
    } catch (err) {
      if (err instanceof UnsupportedLabelConfigError) throw nonRetryable(err.message, 'UnsupportedLabelConfig');
      throw err;
    }
  }

  async function loadClassifier(projectId: number, version: string): Promise<Classifier> {
    return Classifier.deserialize(await loadWeights(db, projectId, version));
  }

  function metricOf(m: Metrics): number {
    return config.promotionMetric === 'accuracy' ? m.accuracy : m.macroF1;
  }

  return {
    async loadChampion({ projectId }: { projectId: number }): Promise<string | null> {
      return getChampionVersion(db, projectId);
    },

    /** Brings tasks and annotations in line with Label Studio (dropped webhooks, deletions). */
    async reconcileProject({ projectId }: { projectId: number }): Promise<{ skipped: boolean; changes: number }> {
      if (!projectSync) return { skipped: true, changes: 0 };
      return { skipped: false, changes: await labelStudioCall(() => projectSync.reconcile(projectId)) };
    },

    async exportSnapshot({ projectId, roundKey }: { projectId: number; roundKey: string }) {
      const { labelConfig, task } = await classificationTask(projectId);
      const snap = await createSnapshot(db, { projectId, roundKey, labelConfig, task, heldOutPercent: config.heldOutPercent });
      if (snap.trainCount < config.minTrainExamples || snap.heldOutCount === 0) {
        throw nonRetryable(
          `project ${projectId} has ${snap.trainCount} training and ${snap.heldOutCount} held-out labelled tasks; ` +
            `a round needs at least ${config.minTrainExamples} training and 1 held-out (label more tasks)`,
          'NotEnoughLabels',
        );
      }
      return { snapshotId: snap.snapshotId, trainCount: snap.trainCount, heldOutCount: snap.heldOutCount, skippedCount: snap.skippedCount };
    },

    /**
     * Trains a candidate on the snapshot's train split. Heartbeats every epoch and persists a
     * checkpoint, so an attempt retried after a worker crash continues from the last epoch.
     */
    async trainCandidate(args: { projectId: number; snapshotId: string; round: number; overrides?: TrainOverrides }) {
      const { projectId, snapshotId } = args;
      const snap = await getSnapshot(db, snapshotId);
      const options: TrainOptions = { ...defaultTrainOptions(args.overrides?.seed ?? config.seed), ...config.train, ...args.overrides };
      const version = `r${args.round}-${createHash('sha256').update(JSON.stringify([snapshotId, options])).digest('hex').slice(0, 8)}`;
      const existing = await getModel(db, projectId, version);
      if (existing?.hasWeights) return { modelVersion: version, resumedFromEpoch: options.epochs, backend: existing.backend };

      const backend = await initBackend();
      await registerTraining(db, { projectId, version, snapshotId, roundKey: `round-${args.round}`, trainOptions: options });
      const checkpoint = await loadCheckpoint(db, projectId, version);
      const examples = (await snapshotExamples(db, snapshotId, false)).map((e) => ({ text: e.text, labels: e.labels }));
      const spec = defaultSpec(snap.task.labels, snap.task.multiLabel);
      const started = Date.now();
      const classifier = await trainClassifier(spec, examples, options, {
        resumeFrom: checkpoint,
        onEpoch: async ({ epoch, epochs, loss, checkpoint: take }) => {
          heartbeat({ epoch, epochs, loss });
          if (epoch < epochs) await saveCheckpoint(db, projectId, version, epoch, take().state);
        },
      });
      try {
        await saveTrainedModel(db, {
          projectId,
          version,
          weights: classifier.serialize(),
          spec: { ...spec, task: snap.task },
          backend,
          trainMs: Date.now() - started,
        });
      } finally {
        classifier.dispose();
      }
      return { modelVersion: version, resumedFromEpoch: checkpoint?.epoch ?? 0, backend };
    },

    /** Scores candidate, champion and the majority baseline on the same held-out examples. */
    async evaluateCandidate({ projectId, modelVersion }: { projectId: number; modelVersion: string }) {
      const model = await mustGetModel(projectId, modelVersion);
      const snap = await getSnapshot(db, model.snapshotId);
      const heldOut = await snapshotExamples(db, model.snapshotId, true);
      const train = await snapshotExamples(db, model.snapshotId, false);
      const truth = heldOut.map((e) => e.labels);
      const texts = heldOut.map((e) => e.text);
      await initBackend();

      const scoreWith = async (version: string): Promise<Metrics> => {
        const clf = await loadClassifier(projectId, version);
        try {
          return evaluate(truth, clf.predictProba(texts), clf.spec);
        } catch (err) {
          // A champion trained for another label set cannot be compared: the candidate wins.
          if (version !== modelVersion) return { n: truth.length, accuracy: 0, macroF1: 0, perClassF1: {}, logLoss: Infinity };
          throw err;
        }
      };
      const candidate = await scoreWith(modelVersion);
      const championVersion = await getChampionVersion(db, projectId);
      const champion = championVersion && championVersion !== modelVersion ? await scoreWith(championVersion) : null;
      const spec = defaultSpec(snap.task.labels, snap.task.multiLabel);
      const baseline = majorityBaseline(
        train.map((e) => e.labels),
        truth,
        spec,
      );
      await saveEvaluation(db, { projectId, version: modelVersion, metrics: candidate, championVersion, championMetrics: champion, baselineMetrics: baseline });
      return { candidate, champion, championVersion, baseline };
    },

    /** Promotes the candidate when it beats the champion (or, for the first model, the baseline). */
    async promoteIfBetter({ projectId, modelVersion }: { projectId: number; modelVersion: string }) {
      const metric = config.promotionMetric;
      return decidePromotion(db, projectId, modelVersion, (candidate: ModelRow, current) => {
        if (!candidate.metrics || !candidate.baselineMetrics) {
          throw ApplicationFailure.create({ message: `model ${modelVersion} has not been evaluated`, type: 'NotEvaluated' });
        }
        const mine = metricOf(candidate.metrics);
        if (current !== candidate.championVersion) {
          return { promote: false, reason: `rejected: the champion changed to ${current} after evaluation against ${candidate.championVersion}` };
        }
        if (!current || !candidate.championMetrics) {
          const base = metricOf(candidate.baselineMetrics);
          return mine > base
            ? { promote: true, reason: `promoted: first model, ${metric} ${mine.toFixed(4)} > majority baseline ${base.toFixed(4)}` }
            : { promote: false, reason: `rejected: ${metric} ${mine.toFixed(4)} does not beat the majority baseline ${base.toFixed(4)}` };
        }
        const theirs = metricOf(candidate.championMetrics);
        return mine > theirs + config.promotionMargin
          ? { promote: true, reason: `promoted: ${metric} ${mine.toFixed(4)} > champion ${current} ${theirs.toFixed(4)} + margin ${config.promotionMargin}` }
          : { promote: false, reason: `rejected: ${metric} ${mine.toFixed(4)} does not beat champion ${current} ${theirs.toFixed(4)} + margin ${config.promotionMargin}` };
      });
    },

    /**
     * Predicts every live task without a prediction of `modelVersion`, unlabelled first, in
     * chunks. Each chunk is saved before the heartbeat, so a retry starts at the next chunk.
     */
    async predictTasks({ projectId, modelVersion }: { projectId: number; modelVersion: string }) {
      const todo = await tasksToPredict(db, projectId, modelVersion);
      const alreadyDone = (activityInfo().heartbeatDetails as { done?: number } | undefined)?.done ?? 0;
      if (todo.length === 0) return { predicted: 0, resumedAfter: alreadyDone };
      // The text field comes from the config the model was trained for.
      const { task } = await getSnapshot(db, (await mustGetModel(projectId, modelVersion)).snapshotId);
      await initBackend();
      const clf = await loadClassifier(projectId, modelVersion);
      let predicted = 0;
      try {
        for (let i = 0; i < todo.length; i += config.predictChunkSize) {
          const rows = await taskData(db, todo.slice(i, i + config.predictChunkSize));
          // Tasks without the text field get no prediction (they cannot be scored).
          const scorable = rows.flatMap((r) => {
            const text = taskText(task, r.data);
            return text === undefined ? [] : [{ id: r.id, text }];
          });
          const probs = scorable.length ? clf.predictProba(scorable.map((r) => r.text)) : [];
          await savePredictions(
            db,
            projectId,
            modelVersion,
            scorable.map((r, j) => ({ taskId: r.id, probabilities: probs[j], ...scorePrediction(probs[j], clf.spec) })),
          );
          predicted += scorable.length;
          heartbeat({ done: alreadyDone + predicted });
          if (config.predictChunkPauseMs > 0) await sleep(config.predictChunkPauseMs);
        }
      } finally {
        clf.dispose();
      }
      return { predicted, resumedAfter: alreadyDone };
    },

    /** Pushes the champion's not-yet-pushed predictions to Label Studio. */
    async pushPredictions({ projectId, modelVersion }: { projectId: number; modelVersion: string }) {
      if (!projectSync) return { pushed: 0, skipped: true };
      const pushed = await labelStudioCall(() => projectSync.pushPredictions(projectId, modelVersion, () => heartbeat()));
      return { pushed, skipped: false };
    },
  };

  async function mustGetModel(projectId: number, version: string): Promise<ModelRow> {
    const model = await getModel(db, projectId, version);
    if (!model) throw nonRetryable(`model ${version} of project ${projectId} does not exist`, 'MissingModel');
    return model;
  }
}

export type Activities = ReturnType<typeof createActivities>;
