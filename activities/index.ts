/**
 * Every activity of a round, built by a factory over its dependencies, so tests hand in real or
 * small ones without module-level globals. Activities are the only code with side effects that
 * Temporal retries; each is idempotent (upserts keyed by natural ids, versions from hashes).
 */
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import type { LabelStudioClient } from '../labelstudio/client.js';
import type { TrainOptions } from '../model/classifier.js';
import type { SamplingStrategy } from '../policies/sampling.js';
import type { LoopTarget } from '../client/loops.js';
import { labelStudioActivities } from './labelStudio.js';
import { predictionActivities } from './prediction.js';
import { trainingActivities } from './training.js';
import { roundActivities } from './rounds.js';
import { evaluationActivities } from './evaluation.js';
import type { ProgressSink } from './progress.js';

export type { ProgressSink };

/** What rounds are allowed to vary, from worker/config.ts. */
export interface RoundConfig {
  /** Share of tasks in the audit stream (dataset/audit.ts), 0 … 0.9. */
  auditShare: number;
  /** Query strategy of projects that did not choose one. */
  strategy: SamplingStrategy;
  /** Folds of the cross-validation that scores the audit items. */
  cvFolds: number;
  /** Task texts the IDF is fitted on. */
  idfPoolSize: number;
  /** Confidence of the promotion gate's test and intervals, e.g. 0.95. */
  promotionConfidence: number;
  /** A snapshot needs at least this many labelled tasks in its train split. */
  minTrainExamples: number;
  promotionMetric: 'macroF1' | 'accuracy';
  predictChunkSize: number;
  /** Pause between prediction chunks, to leave CPU to an API sharing the machine. */
  predictChunkPauseMs: number;
  /** Predictions per bulk import request to Label Studio. */
  pushChunkSize?: number;
  train: Partial<TrainOptions>;
  seed: number;
}

export interface ActivityDeps {
  db: Db;
  /** Label Studio's API, for reconciliation and push-back; absent when none is configured. */
  labelStudio?: LabelStudioClient;
  config: RoundConfig;
  log: Logger;
  /** Where live progress goes (the Web UI's current details, the rounds table); optional. */
  progress?: ProgressSink;
  /** Temporal, for requests that schedules make. */
  loops?: LoopTarget;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...labelStudioActivities({ ...deps, pushChunkSize: deps.config.pushChunkSize }),
    ...trainingActivities(deps),
    ...evaluationActivities(deps),
    ...predictionActivities(deps),
    ...roundActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
