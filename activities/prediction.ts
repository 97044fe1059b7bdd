/** Bulk re-prediction: every live task gets a prediction (with uncertainty) of the champion. */
import { activityInfo, sleep } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import {
  countTasksToPredict,
  getModel,
  getProjectStrategy,
  getSnapshot,
  loadWeights,
  mostUncertainUnpushed,
  rankStrategyTasks,
  savePredictions,
  setQueueScores,
  strategyScoreDistribution,
  tasksToPredictPage,
  unrankedAuditTasks,
  withTransaction,
  type PredictionRow,
  type TaskToPredict,
} from '../store/index.js';
import { auditScore, DEFAULT_STRATEGY, maxEntropyOf, SAMPLING_STRATEGIES, type SamplingStrategy } from '../policies/sampling.js';
import { rank } from '../model/strategies.js';
import { taskText } from '../labelstudio/labelConfig.js';
import type { ClassificationTask } from '../dataset/task.js';
import { Classifier } from '../model/classifier.js';
import { scorePrediction } from '../model/uncertainty.js';
import { initBackend } from '../model/backend.js';
import type { RoundConfig } from './index.js';
import { nonRetryable } from './failures.js';
import { progressReporter, type ProgressSink } from './progress.js';

export interface PredictionDeps {
  db: Db;
  config: RoundConfig;
  log: Logger;
  progress?: ProgressSink;
}

/**
 * Keyset pages of the tasks to predict, unlabelled first, then labelled, each by id. Only one
 * page is held at a time: memory is flat in the number of tasks.
 */
async function* pagesToPredict(db: Db, projectId: number, modelVersion: string, pageSize: number): AsyncGenerator<TaskToPredict[]> {
  for (const labelled of [false, true]) {
    for (let afterId = 0; ; ) {
      const page = await tasksToPredictPage(db, projectId, modelVersion, { labelled, afterId, limit: pageSize });
      if (page.length === 0) break;
      yield page;
      afterId = page[page.length - 1].id;
    }
  }
}

/** `source`, with the next item already requested while the consumer works on the current one. */
async function* readAhead<T>(source: AsyncIterator<T>): AsyncGenerator<T> {
  const request = () => {
    const p = source.next();
    // A consumer that stops early (a failed write) never awaits the request in flight: its
    // failure must not become an unhandled rejection that ends the worker process.
    p.catch(() => undefined);
    return p;
  };
  let next = request();
  for (;;) {
    const item = await next;
    if (item.done) return;
    next = request();
    yield item.value;
  }
}

/** The classifier's predictions for one page; tasks without the text field get none (they cannot be scored). */
function scorePage(clf: Classifier, task: ClassificationTask, page: TaskToPredict[]): PredictionRow[] {
  const scorable = page.flatMap((r) => {
    const text = taskText(task, r.data);
    return text === undefined ? [] : [{ id: r.id, text }];
  });
  if (scorable.length === 0) return [];
  const probs = clf.predictProba(scorable.map((r) => r.text));
  return scorable.map((r, j) => ({ taskId: r.id, probabilities: probs[j], ...scorePrediction(probs[j], clf.spec) }));
}

export function predictionActivities({ db, config, log, progress }: PredictionDeps) {
  return {
    /**
     * Predicts every live task without a prediction of `modelVersion`, unlabelled first, page by
     * page. Reading the next page and writing the last one (COPY) overlap with the model's work
     * on the current page; a page counts as done once written, so a retry resumes after it.
     */
    async predictTasks({ projectId, modelVersion, round }: { projectId: number; modelVersion: string; round?: number }) {
      const alreadyDone = (activityInfo().heartbeatDetails as { done?: number } | undefined)?.done ?? 0;
      const total = await countTasksToPredict(db, projectId, modelVersion);
      if (total === 0) return { predicted: 0, resumedAfter: alreadyDone };
      const model = await getModel(db, projectId, modelVersion);
      if (!model) throw nonRetryable(`model ${modelVersion} of project ${projectId} does not exist`, 'MissingModel');
      // The text field comes from the config the model was trained for.
      const { task } = await getSnapshot(db, model.snapshotId);
      await initBackend();
      const clf = Classifier.deserialize(await loadWeights(db, projectId, modelVersion));
      const started = Date.now();
      const report = progressReporter(progress, projectId, round, 'predict');
      let predicted = 0;
      let pages = 0;
      let writing: Promise<void> = Promise.resolve();
      try {
        for await (const page of readAhead(pagesToPredict(db, projectId, modelVersion, config.predictChunkSize))) {
          const rows = scorePage(clf, task, page);
          await writing; // at most one page in flight to PostgreSQL
          writing = savePredictions(db, projectId, modelVersion, rows);
          writing.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
          predicted += rows.length;
          pages++;
          const seconds = (Date.now() - started) / 1000;
          report(
            alreadyDone + predicted,
            alreadyDone + total,
            'tasks',
            `page ${pages} of ${Math.ceil(total / config.predictChunkSize)}, ${Math.round(predicted / Math.max(seconds, 1e-3)).toLocaleString('en')} tasks/s`,
          );
          if (config.predictChunkPauseMs > 0) await sleep(config.predictChunkPauseMs);
        }
        await writing;
      } finally {
        clf.dispose();
      }
      log.info({ projectId, modelVersion, predicted, ms: Date.now() - started }, 'predicted tasks');
      return { predicted, resumedAfter: alreadyDone };
    },

    /**
     * Places the version's new predictions in the serving queue (policies/sampling.ts): strategy
     * tasks by their absolute score, audit tasks dealt into that distribution at random quantiles,
     * and, for diverse_margin, the most uncertain tasks re-ordered by a farthest-first traversal
     * of their features. Only unranked predictions move: what Label Studio already has keeps its
     * place. Idempotent.
     */
    async rankTasks({ projectId, modelVersion, round }: { projectId: number; modelVersion: string; round?: number }) {
      const stored = await getProjectStrategy(db, projectId);
      const strategy: SamplingStrategy = SAMPLING_STRATEGIES.includes(stored as SamplingStrategy) ? (stored as SamplingStrategy) : config.strategy ?? DEFAULT_STRATEGY;
      const share = config.auditShare;
      const model = await getModel(db, projectId, modelVersion);
      if (!model) throw nonRetryable(`model ${modelVersion} of project ${projectId} does not exist`, 'MissingModel');
      const { task } = await getSnapshot(db, model.snapshotId);
      const report = progressReporter(progress, projectId, round, 'predict');
      let diverse = 0;
      if (strategy === 'diverse_margin') diverse = await diversify(projectId, modelVersion, task, share);
      const ranked = await rankStrategyTasks(db, projectId, modelVersion, share, strategy, maxEntropyOf(task.labels.length, task.multiLabel));
      const distribution = await strategyScoreDistribution(db, projectId, modelVersion, share);
      const audit = await unrankedAuditTasks(db, projectId, modelVersion, share);
      await withTransaction(db, async (c) => {
        for (let i = 0; i < audit.length; i += 10_000) {
          await setQueueScores(c, modelVersion, audit.slice(i, i + 10_000).map((a) => ({ taskId: a.taskId, score: auditScore(distribution, a.draw) })));
        }
      });
      report(1, 1, 'queue', `queued ${ranked + diverse} ${strategy} and ${audit.length} audit tasks`);
      return { strategy, ranked: ranked + diverse, audit: audit.length };
    },
  };

  /**
   * diverse_margin: among the DIVERSE_POOL most uncertain unpushed tasks, a farthest-first
   * traversal of their features gives the order; they keep their own margins, re-dealt in that
   * order, so they stay ahead of everything less uncertain. Returns how many were placed.
   */
  async function diversify(projectId: number, modelVersion: string, task: ClassificationTask, share: number): Promise<number> {
    const pool = (await mostUncertainUnpushed(db, projectId, modelVersion, share, DIVERSE_POOL)).flatMap((p) => {
      const text = taskText(task, p.data);
      return text === undefined ? [] : [{ ...p, text }];
    });
    if (pool.length < 2) return 0;
    const clf = Classifier.deserialize(await loadWeights(db, projectId, modelVersion));
    try {
      const order = rank('diverse_margin', {
        probabilities: pool.map((p) => p.probabilities),
        features: clf.features(pool.map((p) => p.text)),
        multiLabel: task.multiLabel,
        seed: config.seed,
        batchSize: Math.max(1, Math.floor(pool.length / 5)),
      });
      const margins = pool.map((p) => p.margin).sort((a, b) => a - b);
      await setQueueScores(db, modelVersion, Array.from(order, (index, position) => ({ taskId: pool[index].taskId, score: margins[position] })));
    } finally {
      clf.dispose();
    }
    return pool.length;
  }
}

/** Tasks the diverse strategy orders jointly each round (the most uncertain ones). */
const DIVERSE_POOL = 250;
