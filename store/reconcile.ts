import type { Db } from './db.js';
import { withTransaction } from './db.js';
import { upsertAnnotations, upsertTasks, type AnnotationRow } from './events.js';
import type { TaskRecord } from '../labelstudio/webhooks.js';

export interface ReconcileCounts {
  tasksUpserted: number;
  annotationsUpserted: number;
  tasksDeleted: number;
  annotationsDeleted: number;
}

/**
 * Makes the project's tasks and annotations equal to a full listing read from Label Studio.
 * Rows recorded after `listedSince` (a webhook that arrived while the listing was read) are
 * never marked deleted: the listing may simply predate them.
 */
export async function reconcileProject(
  db: Db,
  projectId: number,
  listing: { tasks: TaskRecord[]; annotations: AnnotationRow[] },
  listedSince: Date,
): Promise<ReconcileCounts> {
  return withTransaction(db, async (c) => {
    const tasksUpserted = await upsertTasks(c, listing.tasks.map((t) => ({ ...t, projectId })));
    const annotationsUpserted = await upsertAnnotations(c, listing.annotations, { undelete: true });
    const tasksDeleted = await c.query(
      `UPDATE tasks SET deleted = true, updated_at = now()
        WHERE project_id = $1 AND NOT deleted AND updated_at < $3 AND NOT (id = ANY($2::bigint[]))`,
      [projectId, listing.tasks.map((t) => t.id), listedSince],
    );
    const annotationsDeleted = await c.query(
      `UPDATE annotations SET deleted = true, recorded_at = now()
        WHERE project_id = $1 AND NOT deleted AND recorded_at < $3 AND NOT (id = ANY($2::bigint[]))`,
      [projectId, listing.annotations.map((a) => a.id), listedSince],
    );
    return {
      tasksUpserted,
      annotationsUpserted,
      tasksDeleted: tasksDeleted.rowCount ?? 0,
      annotationsDeleted: annotationsDeleted.rowCount ?? 0,
    };
  });
}

/**
 * PostgreSQL's clock, for `listedSince`: rows are stamped with the database's now(), so the
 * cut-off must come from the same clock, not from a worker machine's.
 */
export async function databaseNow(db: Db): Promise<Date> {
  const { rows } = await db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  return rows[0].now;
}

/** Predictions sent to Label Studio by an attempt that died before recording it. */
export async function interruptedPushes(db: Db, projectId: number, modelVersion: string): Promise<number> {
  const { rows } = await db.query(
    'SELECT count(*)::int AS n FROM predictions WHERE project_id = $1 AND model_version = $2 AND push_started_at IS NOT NULL AND pushed_at IS NULL',
    [projectId, modelVersion],
  );
  return rows[0].n;
}

export async function markPushStarted(db: Db, modelVersion: string, taskIds: number[]): Promise<void> {
  await db.query('UPDATE predictions SET push_started_at = now() WHERE model_version = $1 AND task_id = ANY($2::bigint[])', [modelVersion, taskIds]);
}
