/** Rows an evaluation reads and writes: the snapshot's examples with their audit flag, the task pool, out-of-fold answers. */
import type { Db, Queryable } from './db.js';

export interface AuditedExample {
  taskId: number;
  text: string;
  labels: string[];
  audit: boolean;
}

/** Every example of a snapshot, in task-id order, with whether it is an audit item. */
export async function snapshotExamplesWithAudit(q: Queryable, snapshotId: string): Promise<AuditedExample[]> {
  const { rows } = await q.query<{ task_id: number; text: string; labels: string[]; audit: boolean }>(
    'SELECT task_id, text, labels, audit FROM snapshot_examples WHERE snapshot_id = $1 ORDER BY task_id',
    [snapshotId],
  );
  return rows.map((r) => ({ taskId: r.task_id, text: r.text, labels: r.labels, audit: r.audit }));
}

/** Which of `taskIds` the snapshot has an example of. */
export async function snapshotHasTasks(q: Queryable, snapshotId: string, taskIds: number[]): Promise<Set<number>> {
  if (taskIds.length === 0) return new Set();
  const { rows } = await q.query<{ task_id: number }>('SELECT task_id FROM snapshot_examples WHERE snapshot_id = $1 AND task_id = ANY($2::bigint[])', [snapshotId, taskIds]);
  return new Set(rows.map((r) => r.task_id));
}

/** How many tasks of `other` the snapshot `snapshotId` lacks (0: it is a superset of them). */
export async function tasksMissingFrom(q: Queryable, snapshotId: string, other: string): Promise<number> {
  const { rows } = await q.query(
    `SELECT count(*)::int AS n FROM snapshot_examples o
      WHERE o.snapshot_id = $2 AND NOT EXISTS (SELECT 1 FROM snapshot_examples s WHERE s.snapshot_id = $1 AND s.task_id = o.task_id)`,
    [snapshotId, other],
  );
  return rows[0].n;
}

/**
 * The data of up to `limit` of the project's live tasks, a fixed pseudo-random sample (the same
 * tasks for the same pool): what the IDF is fitted on. Unlabelled text is free and tells which
 * words are common in this project; a sample bounds the cost for pools of millions.
 */
export async function poolData(q: Queryable, projectId: number, limit: number): Promise<unknown[]> {
  const { rows } = await q.query<{ data: unknown }>(
    `SELECT data FROM tasks WHERE project_id = $1 AND NOT deleted ORDER BY order_draw, id LIMIT $2`,
    [projectId, limit],
  );
  return rows.map((r) => r.data);
}

/** A model's out-of-fold answers on its audit items (a later gate compares with them). */
export async function saveAuditPredictions(q: Queryable, projectId: number, version: string, answers: { taskId: number; labels: string[] }[]): Promise<void> {
  if (answers.length === 0) return;
  await q.query(
    `INSERT INTO model_audit_predictions (project_id, version, task_id, labels)
     SELECT $1, $2, task_id, ARRAY(SELECT jsonb_array_elements_text(labels))
       FROM jsonb_to_recordset($3::jsonb) AS x(task_id bigint, labels jsonb)
     ON CONFLICT (project_id, version, task_id) DO UPDATE SET labels = excluded.labels`,
    [projectId, version, JSON.stringify(answers.map((a) => ({ task_id: a.taskId, labels: a.labels })))],
  );
}

export async function auditPredictionsOf(db: Db, projectId: number, version: string): Promise<Map<number, string[]>> {
  const { rows } = await db.query<{ task_id: number; labels: string[] }>('SELECT task_id, labels FROM model_audit_predictions WHERE project_id = $1 AND version = $2', [
    projectId,
    version,
  ]);
  return new Map(rows.map((r) => [r.task_id, r.labels]));
}
