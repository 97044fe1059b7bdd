/**
 * The compute half of a round: freeze the labels into a snapshot and train a candidate on every
 * one of them (evaluation and promotion: activities/evaluation.ts).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import {
  getLabelConfig,
  getModel,
  getSnapshot,
  liveAnnotationPages,
  loadCheckpoint,
  registerTraining,
  saveCheckpoint,
  saveSnapshot,
  saveTrainedModel,
  snapshotExamples,
  type ModelRow,
} from '../store/index.js';
import { parseLabelConfig } from '../labelstudio/labelConfig.js';
import { buildSnapshot } from '../dataset/snapshot.js';
import { countFeatures, defaultSpec, defaultTrainOptions, fitIdfOn, trainClassifier, type TrainOptions } from '../model/classifier.js';
import type { EvaluationMetrics } from '../model/metrics.js';
import { initBackend } from '../model/backend.js';
import { poolTextsOf } from './evaluation.js';
import type { TrainOverrides } from '../contract/index.js';
import type { RoundConfig } from './index.js';
import { configFailure, expectedFailure, nonRetryable } from './failures.js';
import { progressReporter, type ProgressSink } from './progress.js';

/** A checkpoint costs a write of the optimiser's state: at most one a second. */
const CHECKPOINT_EVERY_MS = 1_000;

export interface TrainingDeps {
  db: Db;
  config: RoundConfig;
  log: Logger;
  progress?: ProgressSink;
}

async function* mapPages<T, U>(pages: AsyncIterable<T>, fn: (page: T) => U): AsyncGenerator<U> {
  for await (const page of pages) yield fn(page);
}

export function trainingActivities({ db, config, log, progress }: TrainingDeps) {
  async function classificationTask(projectId: number) {
    const labelConfig = await getLabelConfig(db, projectId);
    if (!labelConfig) {
      throw expectedFailure(
        `project ${projectId} has no label config yet: connect Label Loop as the project's ML backend (Label Studio then calls /setup), or send a webhook with the project`,
        'MissingLabelConfig',
      );
    }
    try {
      return { labelConfig, task: parseLabelConfig(labelConfig) };
    } catch (err) {
      return configFailure(err, projectId);
    }
  }

  async function mustGetModel(projectId: number, version: string): Promise<ModelRow> {
    const model = await getModel(db, projectId, version);
    if (!model) throw nonRetryable(`model ${version} of project ${projectId} does not exist`, 'MissingModel');
    return model;
  }

  return {
    /** Counts of an existing snapshot (a replay reuses the failed round's). */
    async describeSnapshot({ snapshotId }: { snapshotId: string }) {
      const snap = await getSnapshot(db, snapshotId);
      return { snapshotId: snap.snapshotId, trainCount: snap.trainCount, auditCount: snap.auditCount, skippedCount: snap.skippedCount };
    },

    /** A model's snapshot counts and metrics (an operator's promotion reports them). */
    async describeModel({ projectId, modelVersion }: { projectId: number; modelVersion: string }) {
      const model = await mustGetModel(projectId, modelVersion);
      const snap = await getSnapshot(db, model.snapshotId);
      const metrics: EvaluationMetrics = model.metrics ?? { n: 0, accuracy: 0, macroF1: 0, perClassF1: {}, logLoss: 0 };
      return { snapshotId: snap.snapshotId, trainCount: snap.trainCount, auditCount: snap.auditCount, metrics };
    },

    /** Freezes the project's current labels into an immutable snapshot, once per round key. */
    async exportSnapshot({ projectId, roundKey }: { projectId: number; roundKey: string }) {
      const { labelConfig, task } = await classificationTask(projectId);
      const audit = { projectId, share: config.auditShare };
      // Page by page (every annotation of a task in the same page), so memory stays flat.
      const pages = mapPages(liveAnnotationPages(db, projectId), (rows) => buildSnapshot(rows, task, audit));
      const snap = await saveSnapshot(db, { projectId, roundKey, labelConfig, task }, pages);
      if (snap.trainCount < config.minTrainExamples) {
        throw expectedFailure(
          `project ${projectId} has ${snap.trainCount} labelled tasks; a round needs at least ${config.minTrainExamples} (label more tasks)`,
          'NotEnoughLabels',
        );
      }
      return { snapshotId: snap.snapshotId, trainCount: snap.trainCount, auditCount: snap.auditCount, skippedCount: snap.skippedCount };
    },

    /**
     * Trains the candidate on every label of the snapshot (nothing is held out: the evaluation
     * cross-validates), with the IDF fitted on a fixed sample of the task pool. Deterministic: the
     * same snapshot and options give the same weights. Heartbeats every epoch and saves a
     * checkpoint at most once a second while it has not converged, so an attempt retried after a
     * worker crash continues from there. The version is a hash of snapshot and options: a retry
     * finds the model it already made.
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
      const examples = (await snapshotExamples(db, snapshotId)).map((e) => ({ text: e.text, labels: e.labels }));
      const spec = defaultSpec(snap.task.labels, snap.task.multiLabel);
      const idf = fitIdfOn(countFeatures(await poolTextsOf(db, projectId, snap.task, config.idfPoolSize), spec));
      const started = Date.now();
      const report = progressReporter(progress, projectId, args.round, 'train');
      let lastCheckpoint = Date.now();
      const classifier = await trainClassifier(spec, examples, options, {
        resumeFrom: checkpoint,
        idf,
        onEpoch: async ({ epoch, epochs, loss, converged, checkpoint: take }) => {
          report(epoch, epochs, 'epochs', `epoch ${epoch} of ${epochs}, loss ${loss.toFixed(3)} (${examples.length} labels)`, { epoch, epochs, loss });
          if (!converged && epoch < epochs && Date.now() - lastCheckpoint >= CHECKPOINT_EVERY_MS) {
            await saveCheckpoint(db, projectId, version, epoch, take().state);
            lastCheckpoint = Date.now();
          }
        },
      });
      try {
        await saveTrainedModel(db, { projectId, version, weights: classifier.serialize(), backend, trainMs: Date.now() - started });
      } finally {
        classifier.dispose();
      }
      log.info({ projectId, round: args.round, modelVersion: version, examples: examples.length, trainMs: Date.now() - started }, 'trained a candidate');
      return { modelVersion: version, resumedFromEpoch: checkpoint?.epoch ?? 0, backend };
    },
  };
}
