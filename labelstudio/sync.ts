import type { Db } from '../store/db.js';
import { getModel, getSnapshot, markPushed, saveLabelConfig, unpushedPredictions } from '../store/index.js';
import { databaseNow, interruptedPushes, markPushStarted, reconcileProject } from '../store/reconcile.js';
import type { AnnotationRow } from '../store/events.js';
import type { ProjectSync } from '../activities/projectSync.js';
import { choicesResult } from './labelConfig.js';
import { LabelStudioError, type LabelStudioClient } from './client.js';

/** Title of the Data Manager tab Label Loop keeps ordered by the champion's scores. */
export const LEAST_CONFIDENT_VIEW = 'Label Loop: least confident first';

/**
 * Data Manager tab: unlabelled tasks, lowest prediction score (confidence of the project's
 * model_version) first. Label Studio's "Label All Tasks" from this tab follows that order.
 */
export const leastConfidentView = () => ({
  title: LEAST_CONFIDENT_VIEW,
  ordering: ['tasks:predictions_score'],
  filters: {
    conjunction: 'and',
    items: [{ filter: 'filter:tasks:total_annotations', operator: 'equal', type: 'Number', value: 0 }],
  },
});

export const UNCERTAINTY_SAMPLING = 'Uncertainty sampling';

/**
 * Asks Label Studio to serve the lowest-scored task next. Community 1.23 accepts and honours it
 * through the API although its settings page does not offer it; a server that refuses is left
 * as it is. Returns whether the project now uses it.
 */
export async function preferUncertaintySampling(ls: LabelStudioClient, projectId: number): Promise<boolean> {
  try {
    await ls.patchProject(projectId, { sampling: UNCERTAINTY_SAMPLING });
    return (await ls.getProject(projectId)).sampling === UNCERTAINTY_SAMPLING;
  } catch (err) {
    if (err instanceof LabelStudioError && err.permanent) return false;
    throw err;
  }
}

/** Creates the least-confident-first tab once; later calls leave it as the user sees it. */
export async function ensureLeastConfidentView(ls: LabelStudioClient, projectId: number): Promise<{ id: number; created: boolean }> {
  const views = await ls.listViews(projectId);
  const existing = views.find((v) => v.data?.title === LEAST_CONFIDENT_VIEW);
  if (existing) return { id: existing.id, created: false };
  const view = await ls.createView(projectId, leastConfidentView());
  return { id: view.id, created: true };
}

export interface SyncLog {
  info(msg: string): void;
}

export class LabelStudioSync implements ProjectSync {
  constructor(
    private readonly db: Db,
    private readonly ls: LabelStudioClient,
    private readonly log: SyncLog,
    private readonly pushChunkSize = 500,
  ) {}

  /** Reads the whole project from Label Studio and makes the local copy match it. */
  async reconcile(projectId: number): Promise<number> {
    const since = await databaseNow(this.db);
    const project = await this.ls.getProject(projectId);
    if (project.label_config) await saveLabelConfig(this.db, projectId, project.label_config, 'api');
    const tasks: { id: number; data: Record<string, unknown> }[] = [];
    const annotations: AnnotationRow[] = [];
    for await (const page of this.ls.tasks(projectId)) {
      for (const t of page) {
        tasks.push({ id: t.id, data: t.data });
        for (const a of t.annotations ?? []) {
          annotations.push({
            id: a.id,
            project_id: projectId,
            task_id: t.id,
            result: a.result ?? [],
            was_cancelled: a.was_cancelled === true,
            source_updated_at: a.updated_at ?? null,
          });
        }
      }
    }
    const counts = await reconcileProject(this.db, projectId, { tasks, annotations }, since);
    const changes = counts.tasksUpserted + counts.annotationsUpserted + counts.tasksDeleted + counts.annotationsDeleted;
    if (changes > 0) this.log.info(`project ${projectId}: reconciled with Label Studio: ${JSON.stringify(counts)}`);
    return changes;
  }

  /**
   * Sends the champion's predictions to Label Studio in chunks, then points the project's
   * model_version at it (the Data Manager only scores predictions of that exact version) and
   * keeps the least-confident-first tab. A chunk sent by an attempt that died before recording
   * it is first checked against Label Studio, so a retry never duplicates predictions.
   */
  async pushPredictions(projectId: number, modelVersion: string, progress: () => void): Promise<number> {
    const model = await getModel(this.db, projectId, modelVersion);
    if (!model) throw new Error(`model ${modelVersion} of project ${projectId} does not exist`);
    const { task } = await getSnapshot(this.db, model.snapshotId);
    if ((await interruptedPushes(this.db, projectId, modelVersion)) > 0) await this.markAlreadyPushed(projectId, modelVersion);

    let pushed = 0;
    let reconciled = false;
    for (;;) {
      const chunk = await unpushedPredictions(this.db, projectId, modelVersion, this.pushChunkSize);
      if (chunk.length === 0) break;
      const ids = chunk.map((p) => p.taskId);
      await markPushStarted(this.db, modelVersion, ids);
      let created: number;
      try {
        ({ created } = await this.ls.importPredictions(
          projectId,
          chunk.map((p) => ({ task: p.taskId, result: choicesResult(task, p.labels), score: p.score, model_version: modelVersion })),
        ));
      } catch (err) {
        // One task deleted in Label Studio since the last reconciliation fails the whole batch
        // with a 400: learn the deletions once, then push what is left.
        if (err instanceof LabelStudioError && err.status === 400 && !reconciled) {
          reconciled = true;
          await this.reconcile(projectId);
          continue;
        }
        throw err;
      }
      // Label Studio 1.23 drops results it cannot validate without failing the request.
      if (created !== chunk.length) {
        throw new LabelStudioError(`Label Studio stored ${created} of ${chunk.length} predictions of ${modelVersion}: does the label config still match?`, 201, true);
      }
      await markPushed(this.db, modelVersion, ids);
      pushed += chunk.length;
      progress();
    }
    const project = await this.ls.getProject(projectId);
    if (project.model_version !== modelVersion) await this.ls.patchProject(projectId, { model_version: modelVersion });
    // First push to a project (the tab is new): also ask for uncertainty sampling, as `connect`
    // does, for projects connected by hand in Label Studio's UI. Later a user's choice stands.
    if ((await ensureLeastConfidentView(this.ls, projectId)).created) await preferUncertaintySampling(this.ls, projectId);
    if (pushed > 0) this.log.info(`project ${projectId}: pushed ${pushed} predictions of ${modelVersion} to Label Studio`);
    return pushed;
  }

  private async markAlreadyPushed(projectId: number, modelVersion: string): Promise<void> {
    const present: number[] = [];
    for await (const page of this.ls.tasks(projectId)) {
      for (const t of page) if (t.predictions?.some((p) => p.model_version === modelVersion)) present.push(t.id);
    }
    if (present.length > 0) await markPushed(this.db, modelVersion, present);
  }
}
