import type pg from 'pg';
import type { Db } from './db.js';
import { storableJson } from './text.js';
import {
  markAnnotationsDeleted,
  markTasksDeleted,
  ownersOf,
  upsertAnnotations,
  upsertTasks,
  type AnnotationRow,
  type TaskRow,
} from './tasks.js';
import { saveLabelConfigs } from './projects.js';

/** One webhook event as the outbox keeps it; keys and counts are computed by the intake. */
export interface EventRow {
  projectId: number;
  action: string;
  /** Redeliveries share a key and are recorded once. */
  dedupKey: string;
  annotationChanges: number;
  taskChanges: number;
  trainingRequested: boolean;
  /** The normalised event (never the raw body: no secrets). */
  payload: object;
}

/** What an event changes in tasks, annotations and the project. */
export interface EventEffects {
  /** A label config already validated as trainable; replaces the project's. */
  labelConfig?: string;
  tasks: TaskRow[];
  annotations: AnnotationRow[];
  deletedTaskIds: number[];
  deletedAnnotationIds: number[];
}

export interface IntakeItem {
  event: EventRow;
  effects: EventEffects;
}

export type IntakeOutcome =
  | { status: 'recorded' }
  | { status: 'duplicate' }
  /** A task or annotation of the event belongs to another project: nothing of it was written. */
  | { status: 'conflict'; message: string };

/**
 * Which items touch a task or annotation that belongs to another project, in the database or
 * earlier in the same batch (ids are unique per Label Studio instance, so such an event is
 * misaddressed or forged and must never overwrite another project's rows). Pure.
 */
export function projectConflicts(
  items: IntakeItem[],
  owners: { tasks: Map<number, number>; annotations: Map<number, number> },
): (string | null)[] {
  const tasks = new Map(owners.tasks);
  const annotations = new Map(owners.annotations);
  return items.map(({ event, effects }) => {
    const p = event.projectId;
    const taskIds = [...effects.tasks.map((t) => t.id), ...effects.annotations.map((a) => a.taskId), ...effects.deletedTaskIds];
    const annotationIds = [...effects.annotations.map((a) => a.id), ...effects.deletedAnnotationIds];
    const foreignTask = taskIds.find((id) => tasks.has(id) && tasks.get(id) !== p);
    if (foreignTask !== undefined) return `task ${foreignTask} belongs to project ${tasks.get(foreignTask)}, not ${p}`;
    const foreignAnnotation = annotationIds.find((id) => annotations.has(id) && annotations.get(id) !== p);
    if (foreignAnnotation !== undefined) return `annotation ${foreignAnnotation} belongs to project ${annotations.get(foreignAnnotation)}, not ${p}`;
    for (const id of taskIds) if (!tasks.has(id)) tasks.set(id, p);
    for (const id of annotationIds) if (!annotations.has(id)) annotations.set(id, p);
    return null;
  });
}

/**
 * Writes a batch of webhook events to the outbox and applies the new ones to tasks, annotations
 * and project configs, in the caller's transaction. Returns one outcome per item, in order.
 * Cost is a fixed handful of statements per batch, whatever its size: the intake batches
 * concurrent requests so that 1,000 events/s stay cheap.
 */
export async function recordEvents(client: pg.PoolClient, items: IntakeItem[]): Promise<IntakeOutcome[]> {
  const owners = await ownersOf(client, {
    taskIds: [...new Set(items.flatMap(({ effects: e }) => [...e.tasks.map((t) => t.id), ...e.annotations.map((a) => a.taskId), ...e.deletedTaskIds]))],
    annotationIds: [...new Set(items.flatMap(({ effects: e }) => [...e.annotations.map((a) => a.id), ...e.deletedAnnotationIds]))],
  });
  const conflicts = projectConflicts(items, owners);
  const candidates = items.filter((_, i) => conflicts[i] === null);

  const inserted = candidates.length
    ? await client.query<{ dedup_key: string }>(
        `INSERT INTO webhook_events (project_id, action, dedup_key, annotation_changes, task_changes, training_requested, payload)
         SELECT project_id, action, dedup_key, annotation_changes, task_changes, training_requested, payload
           FROM jsonb_to_recordset($1::jsonb) AS x(project_id bigint, action text, dedup_key text,
                annotation_changes int, task_changes int, training_requested boolean, payload jsonb)
         ON CONFLICT (dedup_key) DO NOTHING
         RETURNING dedup_key`,
        [
          storableJson(
            candidates.map(({ event: e }) => ({
              project_id: e.projectId,
              action: e.action,
              dedup_key: e.dedupKey,
              annotation_changes: e.annotationChanges,
              task_changes: e.taskChanges,
              training_requested: e.trainingRequested,
              payload: e.payload,
            })),
          ),
        ],
      )
    : { rows: [] };
  const fresh = new Set(inserted.rows.map((r) => r.dedup_key));
  const seen = new Set<string>();
  const outcomes: IntakeOutcome[] = items.map((item, i) => {
    if (conflicts[i] !== null) return { status: 'conflict', message: conflicts[i]! };
    const key = item.event.dedupKey;
    const isNew = fresh.has(key) && !seen.has(key);
    seen.add(key);
    return { status: isNew ? 'recorded' : 'duplicate' };
  });
  await applyEffects(
    client,
    items.filter((_, i) => outcomes[i].status === 'recorded'),
  );
  return outcomes;
}

async function applyEffects(client: pg.PoolClient, items: IntakeItem[]): Promise<void> {
  if (items.length === 0) return;
  const configs = new Map<number, string>();
  const tasks = new Map<number, TaskRow>();
  const annotations = new Map<number, AnnotationRow>();
  const deletions = new Map<number, { tasks: number[]; annotations: number[] }>();
  for (const { event, effects } of items) {
    if (effects.labelConfig) configs.set(event.projectId, effects.labelConfig);
    for (const t of effects.tasks) tasks.set(t.id, t);
    for (const a of effects.annotations) {
      const prev = annotations.get(a.id);
      // Within one batch keep the newest version (PostgreSQL refuses to upsert a row twice in one statement).
      if (!prev || !a.sourceUpdatedAt || !prev.sourceUpdatedAt || a.sourceUpdatedAt >= prev.sourceUpdatedAt) annotations.set(a.id, a);
    }
    if (effects.deletedTaskIds.length || effects.deletedAnnotationIds.length) {
      const d = deletions.get(event.projectId) ?? { tasks: [], annotations: [] };
      // concat, not push(...ids): a delete event may carry hundreds of thousands of ids.
      d.tasks = d.tasks.concat(effects.deletedTaskIds);
      d.annotations = d.annotations.concat(effects.deletedAnnotationIds);
      deletions.set(event.projectId, d);
    }
  }
  if (configs.size > 0) await saveLabelConfigs(client, [...configs].map(([projectId, labelConfig]) => ({ projectId, labelConfig })), 'webhook');
  await upsertTasks(client, [...tasks.values()]);
  await upsertAnnotations(client, [...annotations.values()]);
  for (const [projectId, d] of deletions) {
    await markAnnotationsDeleted(client, projectId, d.annotations);
    await markTasksDeleted(client, projectId, d.tasks);
  }
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
 * id, so the loop workflow can drop the signal if it did arrive. Events of projects with no
 * trainable label config yet (no `/setup`, no valid config in a webhook) wait here: a stray
 * event never creates a loop; once the project is set up they are delivered.
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
       SELECT e.id FROM webhook_events e
        WHERE e.forwarded_at IS NULL
          AND (e.forward_batch IS NULL OR e.claimed_at < now() - make_interval(secs => $3::double precision / 1000))
          AND EXISTS (SELECT 1 FROM projects p WHERE p.id = e.project_id AND p.label_config IS NOT NULL)
        ORDER BY e.id LIMIT $2
        FOR UPDATE OF e SKIP LOCKED
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
