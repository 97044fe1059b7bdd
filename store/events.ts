import type pg from 'pg';
import type { Db } from './db.js';
import { annotationChanges, dedupKey, type LoopEvent, type TaskRecord } from '../labelstudio/webhooks.js';

/**
 * Writes a batch of webhook events and applies the new ones to tasks and annotations, in the
 * caller's transaction. Returns, per event, whether it was new (false = a redelivery).
 * Cost is a fixed handful of statements per batch, whatever its size: the intake batches
 * concurrent requests so that 1,000 events/s stay cheap.
 */
export async function recordEvents(client: pg.PoolClient, events: LoopEvent[]): Promise<boolean[]> {
  const keys = events.map(dedupKey);
  const rows = events.map((e, i) => ({
    project_id: e.projectId,
    action: e.action,
    dedup_key: keys[i],
    annotation_changes: annotationChanges(e),
    task_changes: e.kind === 'tasks_created' ? e.tasks.length : e.kind === 'tasks_deleted' ? e.taskIds.length : 0,
    training_requested: e.kind === 'start_training',
    payload: e,
  }));
  const inserted = await client.query<{ dedup_key: string }>(
    `INSERT INTO webhook_events (project_id, action, dedup_key, annotation_changes, task_changes, training_requested, payload)
     SELECT project_id, action, dedup_key, annotation_changes, task_changes, training_requested, payload
       FROM jsonb_to_recordset($1::jsonb) AS x(project_id bigint, action text, dedup_key text,
            annotation_changes int, task_changes int, training_requested boolean, payload jsonb)
     ON CONFLICT (dedup_key) DO NOTHING
     RETURNING dedup_key`,
    [JSON.stringify(rows)],
  );
  const fresh = new Set(inserted.rows.map((r) => r.dedup_key));
  const seen = new Set<string>();
  const accepted = keys.map((k) => {
    const isNew = fresh.has(k) && !seen.has(k);
    seen.add(k);
    return isNew;
  });
  await applyEvents(client, events.filter((_, i) => accepted[i]));
  return accepted;
}

async function applyEvents(client: pg.PoolClient, events: LoopEvent[]): Promise<void> {
  if (events.length === 0) return;
  const configs = new Map<number, string>();
  const tasks = new Map<number, TaskRecord & { projectId: number }>();
  const annotations = new Map<number, AnnotationRow>();
  const deletedAnnotations: number[] = [];
  const deletedTasks: number[] = [];

  for (const e of events) {
    if ('labelConfig' in e && e.labelConfig) configs.set(e.projectId, e.labelConfig);
    switch (e.kind) {
      case 'annotation': {
        tasks.set(e.task.id, { ...e.task, projectId: e.projectId });
        const a = e.annotation;
        const prev = annotations.get(a.id);
        // Within one batch, keep the newest version of an annotation (Postgres refuses to
        // upsert the same row twice in one statement).
        if (!prev || !a.updatedAt || !prev.source_updated_at || a.updatedAt >= prev.source_updated_at) {
          annotations.set(a.id, {
            id: a.id,
            project_id: e.projectId,
            task_id: a.taskId,
            result: a.result,
            was_cancelled: a.wasCancelled,
            source_updated_at: a.updatedAt ?? null,
          });
        }
        break;
      }
      case 'tasks_created':
        for (const t of e.tasks) tasks.set(t.id, { ...t, projectId: e.projectId });
        break;
      case 'annotations_deleted':
        deletedAnnotations.push(...e.annotationIds);
        break;
      case 'tasks_deleted':
        deletedTasks.push(...e.taskIds);
        break;
      case 'start_training':
        break;
    }
  }

  if (configs.size > 0) {
    await client.query(
      `INSERT INTO projects (id, label_config, config_source)
       SELECT id, label_config, 'webhook' FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, label_config text)
       ON CONFLICT (id) DO UPDATE SET label_config = excluded.label_config, config_source = 'webhook', updated_at = now()
       WHERE projects.label_config IS DISTINCT FROM excluded.label_config`,
      [JSON.stringify([...configs].map(([id, label_config]) => ({ id, label_config })))],
    );
  }
  if (tasks.size > 0) await upsertTasks(client, [...tasks.values()]);
  if (annotations.size > 0) await upsertAnnotations(client, [...annotations.values()]);
  if (deletedAnnotations.length > 0) {
    await client.query('UPDATE annotations SET deleted = true, recorded_at = now() WHERE id = ANY($1::bigint[])', [
      deletedAnnotations,
    ]);
  }
  if (deletedTasks.length > 0) {
    await client.query('UPDATE tasks SET deleted = true, updated_at = now() WHERE id = ANY($1::bigint[])', [deletedTasks]);
  }
}

export interface AnnotationRow {
  id: number;
  project_id: number;
  task_id: number;
  result: unknown;
  was_cancelled: boolean;
  source_updated_at: string | null;
}

/**
 * Inserts or refreshes annotations; an older version (by Label Studio's updated_at) never wins.
 * Only reconciliation, which reads Label Studio's current state, may revive a deleted one.
 * Returns how many rows changed.
 */
export async function upsertAnnotations(db: pg.PoolClient | Db, rows: AnnotationRow[], { undelete = false } = {}): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await db.query(
    `INSERT INTO annotations (id, project_id, task_id, result, was_cancelled, source_updated_at)
     SELECT id, project_id, task_id, result, was_cancelled, source_updated_at
       FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, project_id bigint, task_id bigint, result jsonb,
            was_cancelled boolean, source_updated_at timestamptz)
     ON CONFLICT (id) DO UPDATE SET result = excluded.result, was_cancelled = excluded.was_cancelled,
            source_updated_at = excluded.source_updated_at, deleted = annotations.deleted AND NOT $2, recorded_at = now()
     WHERE (excluded.source_updated_at IS NULL OR annotations.source_updated_at IS NULL
            OR excluded.source_updated_at >= annotations.source_updated_at)
       AND (annotations.result IS DISTINCT FROM excluded.result OR annotations.was_cancelled IS DISTINCT FROM excluded.was_cancelled
            OR annotations.source_updated_at IS DISTINCT FROM excluded.source_updated_at OR (annotations.deleted AND $2))`,
    [JSON.stringify(rows), undelete],
  );
  return res.rowCount ?? 0;
}

/** Inserts or refreshes tasks (data only: a deleted task stays deleted). */
export async function upsertTasks(db: pg.PoolClient | Db, tasks: (TaskRecord & { projectId: number })[]): Promise<number> {
  if (tasks.length === 0) return 0;
  const res = await db.query(
    `INSERT INTO tasks (id, project_id, data)
     SELECT id, project_id, data FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, project_id bigint, data jsonb)
     ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = now()
     WHERE tasks.data IS DISTINCT FROM excluded.data`,
    [JSON.stringify(tasks.map((t) => ({ id: t.id, project_id: t.projectId, data: t.data })))],
  );
  return res.rowCount ?? 0;
}

/** One forward batch: what the project's loop is told in a single signal. */
export interface ForwardBatch {
  batchId: string;
  projectId: number;
  annotationChanges: number;
  taskChanges: number;
  trainingRequested: boolean;
  events: number;
}

/**
 * Claims unforwarded events, grouped into one batch per project. A batch claimed by a process
 * that died before marking it forwarded is reclaimed after `staleAfterMs` under the SAME batch
 * id, so the loop workflow can drop the signal if it did arrive.
 */
export async function claimForwardBatches(db: Db, claimId: string, limit = 10_000, staleAfterMs = 30_000): Promise<ForwardBatch[]> {
  const { rows } = await db.query<{
    forward_batch: string;
    project_id: number;
    annotation_changes: number;
    task_changes: number;
    training_requested: boolean;
    events: number;
  }>(
    `WITH candidates AS (
       SELECT id FROM webhook_events
        WHERE forwarded_at IS NULL
          AND (forward_batch IS NULL OR claimed_at < now() - make_interval(secs => $3::double precision / 1000))
        ORDER BY id LIMIT $2
        FOR UPDATE SKIP LOCKED
     ), claimed AS (
       UPDATE webhook_events e
          SET forward_batch = COALESCE(e.forward_batch, $1 || '-p' || e.project_id), claimed_at = now()
         FROM candidates c WHERE e.id = c.id
       RETURNING e.forward_batch, e.project_id, e.annotation_changes, e.task_changes, e.training_requested
     )
     SELECT forward_batch, project_id, sum(annotation_changes)::int AS annotation_changes,
            sum(task_changes)::int AS task_changes, bool_or(training_requested) AS training_requested,
            count(*)::int AS events
       FROM claimed GROUP BY forward_batch, project_id ORDER BY min(forward_batch)`,
    [claimId, limit, staleAfterMs],
  );
  return rows.map((r) => ({
    batchId: r.forward_batch,
    projectId: r.project_id,
    annotationChanges: r.annotation_changes,
    taskChanges: r.task_changes,
    trainingRequested: r.training_requested,
    events: r.events,
  }));
}

export async function markForwarded(db: Db, batchId: string): Promise<void> {
  await db.query('UPDATE webhook_events SET forwarded_at = now() WHERE forward_batch = $1 AND forwarded_at IS NULL', [batchId]);
}
