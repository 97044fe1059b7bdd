import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { withTransaction } from './db.js';
import type { ClassificationTask } from '../dataset/task.js';
import type { DatasetSnapshot } from '../dataset/snapshot.js';
import { storableText } from './text.js';
import { arrayLiteral, copyField, copyRows } from './copy.js';

export interface SnapshotSummary {
  snapshotId: string;
  trainCount: number;
  /** Of the labelled examples (trainCount: all of them, the served model trains on all), the audit items. */
  auditCount: number;
  skippedCount: number;
  task: ClassificationTask;
}

export interface SnapshotExample {
  taskId: number;
  text: string;
  labels: string[];
}

/**
 * Saves a round's snapshot once per round key: calling it again for the same round returns the
 * snapshot saved the first time (a retried attempt, or a concurrent one that won). The examples
 * come in pages (each a DatasetSnapshot of some tasks, with its counts) and are written with
 * COPY as they come, inside one transaction: memory holds one page, and a snapshot is either
 * complete or absent. `pages` is not read at all when the snapshot already exists.
 */
export async function saveSnapshot(
  db: Db,
  args: { projectId: number; roundKey: string; labelConfig: string; task: ClassificationTask },
  pages: AsyncIterable<DatasetSnapshot> | Iterable<DatasetSnapshot>,
): Promise<SnapshotSummary> {
  const existing = await findSnapshot(db, args.projectId, args.roundKey);
  if (existing) return existing;
  const snapshotId = `snap-${args.projectId}-${createHash('sha256').update(args.roundKey).digest('hex').slice(0, 12)}`;
  await withTransaction(db, async (client) => {
    const inserted = await client.query(
      `INSERT INTO dataset_snapshots (id, project_id, round_key, label_config, task_spec, train_count, audit_count, skipped_count)
       VALUES ($1, $2, $3, $4, $5, 0, 0, 0) ON CONFLICT DO NOTHING`,
      [snapshotId, args.projectId, args.roundKey, args.labelConfig, JSON.stringify(args.task)],
    );
    if (inserted.rowCount === 0) return; // a concurrent attempt won; its snapshot is identical
    const counts = { train: 0, audit: 0, skipped: 0 };
    for await (const page of pages) {
      counts.train += page.trainCount;
      counts.audit += page.auditCount;
      counts.skipped += page.skippedCount;
      await copyRows(
        client,
        'snapshot_examples',
        ['snapshot_id', 'task_id', 'annotation_id', 'text', 'labels', 'audit'],
        page.examples.map((e) => [
          copyField(snapshotId),
          copyField(e.taskId),
          copyField(e.annotationId),
          copyField(storableText(e.text)),
          copyField(arrayLiteral(e.labels.map(storableText))),
          e.audit ? 't' : 'f',
        ]),
      );
    }
    await client.query('UPDATE dataset_snapshots SET train_count = $2, audit_count = $3, skipped_count = $4 WHERE id = $1', [
      snapshotId,
      counts.train,
      counts.audit,
      counts.skipped,
    ]);
  });
  return (await findSnapshot(db, args.projectId, args.roundKey))!;
}

export async function findSnapshot(db: Db, projectId: number, roundKey: string): Promise<SnapshotSummary | undefined> {
  const { rows } = await db.query(
    'SELECT id FROM dataset_snapshots WHERE project_id = $1 AND round_key = $2',
    [projectId, roundKey],
  );
  return rows[0] ? getSnapshot(db, rows[0].id) : undefined;
}

export async function getSnapshot(db: Db, snapshotId: string): Promise<SnapshotSummary> {
  const { rows } = await db.query(
    'SELECT id, train_count, audit_count, skipped_count, task_spec FROM dataset_snapshots WHERE id = $1',
    [snapshotId],
  );
  if (!rows[0]) throw new Error(`snapshot ${snapshotId} does not exist`);
  return {
    snapshotId: rows[0].id,
    trainCount: rows[0].train_count,
    auditCount: rows[0].audit_count,
    skippedCount: rows[0].skipped_count,
    task: rows[0].task_spec,
  };
}

/** Every example of the snapshot (what the served model trains on), in task-id order. */
export async function snapshotExamples(db: Db, snapshotId: string): Promise<SnapshotExample[]> {
  const { rows } = await db.query<{ task_id: number; text: string; labels: string[] }>(
    'SELECT task_id, text, labels FROM snapshot_examples WHERE snapshot_id = $1 ORDER BY task_id',
    [snapshotId],
  );
  return rows.map((r) => ({ taskId: r.task_id, text: r.text, labels: r.labels }));
}
