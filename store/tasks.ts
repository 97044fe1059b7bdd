import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from './db.js';
import { storableJson } from './text.js';
import type { AnnotatedTask } from '../dataset/snapshot.js';

/** A Label Studio task as Label Loop keeps it. */
export interface TaskRow {
  id: number;
  projectId: number;
  data: Record<string, unknown>;
}

/** A Label Studio annotation as Label Loop keeps it. */
export interface AnnotationRow {
  id: number;
  projectId: number;
  taskId: number;
  result: unknown[];
  wasCancelled: boolean;
  /** Label Studio's updated_at (ISO): an older version never overwrites a newer one. */
  sourceUpdatedAt: string | null;
}

/** Project of each known task and annotation id (ids are unique per Label Studio instance). */
export async function ownersOf(
  q: Queryable,
  ids: { taskIds: number[]; annotationIds: number[] },
): Promise<{ tasks: Map<number, number>; annotations: Map<number, number> }> {
  const [tasks, annotations] = await Promise.all([
    ids.taskIds.length
      ? q.query<{ id: number; project_id: number }>('SELECT id, project_id FROM tasks WHERE id = ANY($1::bigint[])', [ids.taskIds])
      : { rows: [] },
    ids.annotationIds.length
      ? q.query<{ id: number; project_id: number }>('SELECT id, project_id FROM annotations WHERE id = ANY($1::bigint[])', [ids.annotationIds])
      : { rows: [] },
  ]);
  return {
    tasks: new Map(tasks.rows.map((r) => [r.id, r.project_id])),
    annotations: new Map(annotations.rows.map((r) => [r.id, r.project_id])),
  };
}

/**
 * Inserts or refreshes tasks (data only: a deleted task stays deleted). A row never moves to
 * another project: the intake refuses such events first, and the guard here covers a race with
 * another process. Returns how many rows changed.
 */
export async function upsertTasks(q: Queryable, tasks: TaskRow[]): Promise<number> {
  if (tasks.length === 0) return 0;
  const res = await q.query(
    `INSERT INTO tasks (id, project_id, data)
     SELECT id, project_id, data FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, project_id bigint, data jsonb)
     ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = now()
     WHERE tasks.project_id = excluded.project_id AND tasks.data IS DISTINCT FROM excluded.data`,
    [storableJson(tasks.map((t) => ({ id: t.id, project_id: t.projectId, data: t.data })))],
  );
  return res.rowCount ?? 0;
}

/**
 * Inserts or refreshes annotations; an older version (by Label Studio's updated_at) never wins.
 * Only reconciliation, which reads Label Studio's current state, may revive a deleted one.
 * Returns how many rows changed.
 */
export async function upsertAnnotations(q: Queryable, rows: AnnotationRow[], { undelete = false } = {}): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await q.query(
    `INSERT INTO annotations (id, project_id, task_id, result, was_cancelled, source_updated_at)
     SELECT id, project_id, task_id, result, was_cancelled, source_updated_at
       FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, project_id bigint, task_id bigint, result jsonb,
            was_cancelled boolean, source_updated_at timestamptz)
     ON CONFLICT (id) DO UPDATE SET result = excluded.result, was_cancelled = excluded.was_cancelled,
            task_id = excluded.task_id, source_updated_at = excluded.source_updated_at,
            deleted = annotations.deleted AND NOT $2, recorded_at = now()
     WHERE annotations.project_id = excluded.project_id
       AND (excluded.source_updated_at IS NULL OR annotations.source_updated_at IS NULL
            OR excluded.source_updated_at >= annotations.source_updated_at)
       AND (annotations.result IS DISTINCT FROM excluded.result OR annotations.was_cancelled IS DISTINCT FROM excluded.was_cancelled
            OR annotations.source_updated_at IS DISTINCT FROM excluded.source_updated_at OR (annotations.deleted AND $2))`,
    [
      storableJson(
        rows.map((a) => ({
          id: a.id,
          project_id: a.projectId,
          task_id: a.taskId,
          result: a.result,
          was_cancelled: a.wasCancelled,
          source_updated_at: a.sourceUpdatedAt,
        })),
      ),
      undelete,
    ],
  );
  return res.rowCount ?? 0;
}

/** Marks the project's tasks with these ids deleted; ids of other projects are left alone. */
export async function markTasksDeleted(q: Queryable, projectId: number, taskIds: number[]): Promise<number> {
  if (taskIds.length === 0) return 0;
  const res = await q.query('UPDATE tasks SET deleted = true, updated_at = now() WHERE project_id = $1 AND id = ANY($2::bigint[]) AND NOT deleted', [
    projectId,
    taskIds,
  ]);
  return res.rowCount ?? 0;
}

/** Marks the project's annotations with these ids deleted; ids of other projects are left alone. */
export async function markAnnotationsDeleted(q: Queryable, projectId: number, annotationIds: number[]): Promise<number> {
  if (annotationIds.length === 0) return 0;
  const res = await q.query(
    'UPDATE annotations SET deleted = true, recorded_at = now() WHERE project_id = $1 AND id = ANY($2::bigint[]) AND NOT deleted',
    [projectId, annotationIds],
  );
  return res.rowCount ?? 0;
}

const toAnnotatedTask = (r: any): AnnotatedTask => ({
  taskId: r.task_id,
  annotationId: r.annotation_id,
  result: r.result,
  wasCancelled: r.was_cancelled,
  sourceUpdatedAt: r.source_updated_at instanceof Date ? r.source_updated_at.toISOString() : r.source_updated_at,
  data: r.data,
});

/**
 * Every live annotation of the project with its task's data (the input of a dataset snapshot),
 * in pages of about `pageSize` rows ordered by task, each page holding every annotation of its
 * tasks. Read through a cursor in one read-only repeatable-read transaction: a consistent
 * point-in-time view, however long the export takes, with one page in memory.
 */
export async function* liveAnnotationPages(db: Db, projectId: number, pageSize = 5_000): AsyncGenerator<AnnotatedTask[]> {
  const client = await db.connect();
  let broken: Error | undefined;
  let committed = false;
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(
      `DECLARE live_annotations NO SCROLL CURSOR FOR
       SELECT a.task_id, a.id AS annotation_id, a.result, a.was_cancelled, a.source_updated_at, t.data
         FROM annotations a JOIN tasks t ON t.id = a.task_id AND t.project_id = a.project_id
        WHERE a.project_id = $1 AND NOT a.deleted AND NOT t.deleted
        ORDER BY a.task_id, a.id`,
      [projectId],
    );
    let carry: AnnotatedTask[] = [];
    for (;;) {
      const { rows } = await client.query(`FETCH ${Math.max(1, Math.floor(pageSize))} FROM live_annotations`);
      if (rows.length === 0) break;
      const page = carry.concat(rows.map(toAnnotatedTask));
      // The last task's annotations may continue on the next page: hold them back.
      const lastTask = page[page.length - 1].taskId;
      let cut = page.length;
      while (cut > 0 && page[cut - 1].taskId === lastTask) cut--;
      carry = page.slice(cut);
      if (cut > 0) yield page.slice(0, cut);
    }
    if (carry.length > 0) yield carry;
    await client.query('COMMIT');
    committed = true;
  } catch (err) {
    broken ??= err as Error;
    throw err;
  } finally {
    // A consumer that stopped early (an error while writing) leaves the transaction open.
    if (!committed && !broken) broken = await client.query('ROLLBACK').then(() => undefined, (e: Error) => e);
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/**
 * One page of a full listing read from Label Studio (reconciliation): its tasks and annotations
 * are upserted at once (an annotation deleted here but listed there is revived), and their ids
 * are noted under `listing`, so that `deleteUnlisted` can find what the listing lacked without
 * holding the whole listing in memory.
 */
export async function recordListingPage(
  q: Queryable,
  listing: string,
  projectId: number,
  page: { tasks: TaskRow[]; annotations: AnnotationRow[] },
): Promise<{ tasksUpserted: number; annotationsUpserted: number }> {
  const tasksUpserted = await upsertTasks(q, page.tasks);
  const annotationsUpserted = await upsertAnnotations(q, page.annotations, { undelete: true });
  await q.query(
    `INSERT INTO listed_ids (listing, project_id, kind, id)
     SELECT $1::text, $2::bigint, 't'::"char", unnest($3::bigint[]) UNION ALL SELECT $1::text, $2::bigint, 'a'::"char", unnest($4::bigint[])
     ON CONFLICT DO NOTHING`,
    [listing, projectId, page.tasks.map((t) => t.id), page.annotations.map((a) => a.id)],
  );
  return { tasksUpserted, annotationsUpserted };
}

/**
 * Ends a listing: marks deleted the project's tasks and annotations it did not contain. Rows
 * recorded after `listedSince` (a webhook that arrived while the listing was read) are never
 * marked deleted: the listing may simply predate them. Then forgets the listing's ids (and any
 * a dead attempt left more than a day ago).
 */
export async function deleteUnlisted(
  q: Queryable,
  listing: string,
  projectId: number,
  listedSince: DatabaseTime,
): Promise<{ tasksDeleted: number; annotationsDeleted: number }> {
  const tasksDeleted = await q.query(
    `UPDATE tasks t SET deleted = true, updated_at = now()
      WHERE t.project_id = $1 AND NOT t.deleted AND t.updated_at < $3
        AND NOT EXISTS (SELECT 1 FROM listed_ids l WHERE l.listing = $2 AND l.kind = 't' AND l.id = t.id)`,
    [projectId, listing, listedSince],
  );
  const annotationsDeleted = await q.query(
    `UPDATE annotations a SET deleted = true, recorded_at = now()
      WHERE a.project_id = $1 AND NOT a.deleted AND a.recorded_at < $3
        AND NOT EXISTS (SELECT 1 FROM listed_ids l WHERE l.listing = $2 AND l.kind = 'a' AND l.id = a.id)`,
    [projectId, listing, listedSince],
  );
  await q.query(`DELETE FROM listed_ids WHERE project_id = $1 AND (listing = $2 OR listed_at < now() - interval '1 day')`, [projectId, listing]);
  return { tasksDeleted: tasksDeleted.rowCount ?? 0, annotationsDeleted: annotationsDeleted.rowCount ?? 0 };
}

/**
 * Makes the project's tasks and annotations equal to a full listing held in memory (tests and
 * small projects); reconciliation itself goes page by page with the two functions above.
 */
export async function replaceWithListing(
  q: Queryable,
  projectId: number,
  listing: { tasks: TaskRow[]; annotations: AnnotationRow[] },
  listedSince: DatabaseTime,
): Promise<{ tasksUpserted: number; annotationsUpserted: number; tasksDeleted: number; annotationsDeleted: number }> {
  const id = randomUUID();
  const upserted = await recordListingPage(q, id, projectId, listing);
  return { ...upserted, ...(await deleteUnlisted(q, id, projectId, listedSince)) };
}

/**
 * PostgreSQL's clock, for `listedSince`: rows are stamped with the database's now(), so the
 * cut-off must come from the same clock, not from a worker machine's.
 */
export async function databaseNow(q: Queryable): Promise<DatabaseTime> {
  // As text: a JavaScript Date keeps milliseconds only, and rows stamped in the same millisecond
  // but after the cut-off would count as before it.
  const { rows } = await q.query<{ now: string }>('SELECT clock_timestamp()::text AS now');
  return rows[0].now;
}

/** A PostgreSQL timestamptz as PostgreSQL prints it (microseconds kept). */
export type DatabaseTime = string;
