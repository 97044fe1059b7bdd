/**
 * Keeping Label Loop and Label Studio in step, beyond webhooks. Label Studio sends each webhook
 * once and never retries, so every round first reconciles through its REST API; after
 * re-predicting, the champion's predictions are pushed back so annotators are served the most
 * informative tasks next. Both page through Label Studio and heartbeat per page.
 */
import { randomUUID } from 'node:crypto';
import { heartbeat } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import { withTransaction } from '../store/db.js';
import {
  databaseNow,
  getModel,
  getSnapshot,
  interruptedPushes,
  markPushed,
  markPushStarted,
  recordListingPage,
  deleteUnlisted,
  saveLabelConfig,
  unpushedPredictions,
  type AnnotationRow,
  type TaskRow,
} from '../store/index.js';
import { LabelStudioError, type LabelStudioClient, type LabelStudioTask } from '../labelstudio/client.js';
import { parseLabelConfig } from '../labelstudio/labelConfig.js';
import { ensureLeastConfidentView, preferUncertaintySampling } from '../labelstudio/dataManager.js';
import { toLabelStudioPrediction } from '../labelstudio/predictions.js';
import { configFailure, labelStudioCall, nonRetryable } from './failures.js';
import { progressReporter, type ProgressSink } from './progress.js';

export interface LabelStudioDeps {
  db: Db;
  /** Absent when no Label Studio API is configured: reconcile and push are skipped. */
  labelStudio?: LabelStudioClient;
  log: Logger;
  /** Predictions per bulk import request. */
  pushChunkSize?: number;
  progress?: ProgressSink;
}

/** A page of Label Studio's task listing as Label Loop's rows. */
function listingRows(projectId: number, page: LabelStudioTask[]): { tasks: TaskRow[]; annotations: AnnotationRow[] } {
  const tasks: TaskRow[] = [];
  const annotations: AnnotationRow[] = [];
  for (const t of page) {
    tasks.push({ id: t.id, projectId, data: t.data });
    for (const a of t.annotations ?? []) {
      annotations.push({
        id: a.id,
        projectId,
        taskId: t.id,
        result: Array.isArray(a.result) ? a.result : [],
        wasCancelled: a.was_cancelled === true,
        sourceUpdatedAt: a.updated_at ?? null,
      });
    }
  }
  return { tasks, annotations };
}

export function labelStudioActivities({ db, labelStudio, log, pushChunkSize = 500, progress }: LabelStudioDeps) {
  /** Reads the whole project from Label Studio, page by page, and makes the local copy match it. */
  async function reconcile(ls: LabelStudioClient, projectId: number, report: (pages: number) => void = () => heartbeat()): Promise<number> {
    const since = await databaseNow(db);
    const project = await ls.getProject(projectId);
    if (project.label_config) {
      // The project's current config decides what a round trains on; one we cannot train on
      // fails the round with Label Studio's own config named in the message.
      try {
        parseLabelConfig(project.label_config);
      } catch (err) {
        configFailure(err, projectId);
      }
      await saveLabelConfig(db, projectId, project.label_config, 'api');
    }
    // Each page is upserted as it arrives and its ids noted; what the listing lacked is deleted
    // at the end. Only one page is in memory, however large the project.
    const listing = randomUUID();
    const counts = { tasksUpserted: 0, annotationsUpserted: 0, tasksDeleted: 0, annotationsDeleted: 0 };
    let pages = 0;
    for await (const page of ls.tasks(projectId)) {
      report(++pages);
      const upserted = await recordListingPage(db, listing, projectId, listingRows(projectId, page));
      counts.tasksUpserted += upserted.tasksUpserted;
      counts.annotationsUpserted += upserted.annotationsUpserted;
    }
    Object.assign(counts, await withTransaction(db, (c) => deleteUnlisted(c, listing, projectId, since)));
    const changes = counts.tasksUpserted + counts.annotationsUpserted + counts.tasksDeleted + counts.annotationsDeleted;
    if (changes > 0) log.info({ projectId, ...counts }, 'reconciled with Label Studio');
    return changes;
  }

  /** Marks predictions that an attempt which died before recording them did push, page by page. */
  async function markAlreadyPushed(ls: LabelStudioClient, projectId: number, modelVersion: string): Promise<void> {
    for await (const page of ls.tasks(projectId)) {
      heartbeat();
      const present = page.filter((t) => t.predictions?.some((p) => p.model_version === modelVersion)).map((t) => t.id);
      if (present.length > 0) await markPushed(db, modelVersion, present);
    }
  }

  return {
    /** Brings tasks and annotations in line with Label Studio (dropped webhooks, deletions). */
    async reconcileProject({ projectId, round }: { projectId: number; round?: number }): Promise<{ skipped: boolean; changes: number }> {
      if (!labelStudio) return { skipped: true, changes: 0 };
      const report = progressReporter(progress, projectId, round, 'reconcile');
      return { skipped: false, changes: await labelStudioCall(() => reconcile(labelStudio, projectId, (pages) => report(pages, 0, 'pages', `page ${pages} of Label Studio's tasks`))) };
    },

    /**
     * Sends the champion's not-yet-pushed predictions to Label Studio in chunks, then points the
     * project's model_version at it (the Data Manager only scores predictions of that exact
     * version) and keeps the least-confident-first tab. A chunk sent by an attempt that died
     * before recording it is first checked against Label Studio, so a retry never duplicates.
     */
    async pushPredictions({ projectId, modelVersion, round }: { projectId: number; modelVersion: string; round?: number }): Promise<{ pushed: number; skipped: boolean }> {
      if (!labelStudio) return { pushed: 0, skipped: true };
      const ls = labelStudio;
      const report = progressReporter(progress, projectId, round, 'push');
      return labelStudioCall(async () => {
        const model = await getModel(db, projectId, modelVersion);
        if (!model) throw nonRetryable(`model ${modelVersion} of project ${projectId} does not exist`, 'MissingModel');
        const { task } = await getSnapshot(db, model.snapshotId);
        if ((await interruptedPushes(db, projectId, modelVersion)) > 0) await markAlreadyPushed(ls, projectId, modelVersion);

        let pushed = 0;
        let reconciled = false;
        // Keyset pages by task id: each page is one index range scan, memory holds one page.
        for (let afterTaskId = 0; ; ) {
          const chunk = await unpushedPredictions(db, projectId, modelVersion, pushChunkSize, afterTaskId);
          if (chunk.length === 0) break;
          const ids = chunk.map((p) => p.taskId);
          await markPushStarted(db, modelVersion, ids);
          let created: number;
          try {
            ({ created } = await ls.importPredictions(
              projectId,
              chunk.map((p) => ({ task: p.taskId, ...toLabelStudioPrediction(task, p.labels, p.queueScore ?? p.score, modelVersion) })),
            ));
          } catch (err) {
            // One task deleted in Label Studio since the last reconciliation fails the whole
            // batch with a 400: learn the deletions once, then push what is left.
            if (err instanceof LabelStudioError && err.status === 400 && !reconciled) {
              reconciled = true;
              await reconcile(ls, projectId);
              continue;
            }
            throw err;
          }
          // Label Studio 1.23 drops results it cannot validate without failing the request.
          if (created !== chunk.length) {
            throw nonRetryable(`Label Studio stored ${created} of ${chunk.length} predictions of ${modelVersion}: does the label config still match?`, 'PredictionsDropped');
          }
          await markPushed(db, modelVersion, ids);
          afterTaskId = ids[ids.length - 1];
          pushed += chunk.length;
          report(pushed, 0, 'predictions', `${pushed.toLocaleString('en')} predictions pushed to Label Studio`);
        }
        const project = await ls.getProject(projectId);
        if (project.model_version !== modelVersion) await ls.patchProject(projectId, { model_version: modelVersion });
        // First push to a project (the tab is new): also ask for uncertainty sampling, as
        // `connect` does, for projects connected by hand in Label Studio's UI. Later a user's choice stands.
        if ((await ensureLeastConfidentView(ls, projectId)).created) await preferUncertaintySampling(ls, projectId);
        if (pushed > 0) log.info({ projectId, modelVersion, pushed }, 'pushed predictions to Label Studio');
        return { pushed, skipped: false };
      });
    },
  };
}
