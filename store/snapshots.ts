import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { withTransaction } from './db.js';
import { resultLabels, taskText, type ClassificationTask } from '../labelstudio/labelConfig.js';

export interface SnapshotSummary {
  snapshotId: string;
  trainCount: number;
  heldOutCount: number;
  skippedCount: number;
  task: ClassificationTask;
}

export interface SnapshotExample {
  taskId: number;
  text: string;
  labels: string[];
}

/**
 * Stable train/held-out assignment of a task: the same task lands on the same side in every
 * round, so candidate and champion are always compared on examples neither was trained on.
 * @returns true when the task belongs to the held-out split.
 */
export function isHeldOut(projectId: number, taskId: number, heldOutPercent: number): boolean {
  const digest = createHash('sha256').update(`label-loop:${projectId}:${taskId}`).digest();
  return digest.readUInt32BE(0) % 10_000 < heldOutPercent * 100;
}

/**
 * Freezes the project's current labels into an immutable snapshot, once per round key:
 * calling it again for the same round returns the snapshot made the first time.
 * A task's label comes from its newest annotation that is neither cancelled nor deleted.
 */
export async function createSnapshot(
  db: Db,
  args: { projectId: number; roundKey: string; labelConfig: string; task: ClassificationTask; heldOutPercent: number },
): Promise<SnapshotSummary> {
  const existing = await findSnapshot(db, args.projectId, args.roundKey);
  if (existing) return existing;

  const { rows } = await db.query<{ task_id: number; annotation_id: number; result: unknown; data: unknown }>(
    `SELECT DISTINCT ON (a.task_id) a.task_id, a.id AS annotation_id, a.result, t.data
       FROM annotations a JOIN tasks t ON t.id = a.task_id
      WHERE a.project_id = $1 AND NOT a.deleted AND NOT a.was_cancelled AND NOT t.deleted
      ORDER BY a.task_id, a.source_updated_at DESC NULLS LAST, a.id DESC`,
    [args.projectId],
  );
  const examples: { task_id: number; annotation_id: number; text: string; labels: string[]; held_out: boolean }[] = [];
  let skipped = 0;
  for (const row of rows) {
    const text = taskText(args.task, row.data);
    let labels = resultLabels(args.task, row.result);
    if (!args.task.multiLabel) labels = labels.slice(0, 1);
    // Unlabelled results (another control, or labels removed from the config) teach nothing.
    if (text === undefined || (labels.length === 0 && !args.task.multiLabel)) {
      skipped++;
      continue;
    }
    examples.push({
      task_id: row.task_id,
      annotation_id: row.annotation_id,
      text,
      labels,
      held_out: isHeldOut(args.projectId, row.task_id, args.heldOutPercent),
    });
  }
  const snapshotId = `snap-${args.projectId}-${createHash('sha256').update(args.roundKey).digest('hex').slice(0, 12)}`;
  const heldOutCount = examples.filter((e) => e.held_out).length;

  await withTransaction(db, async (client) => {
    const inserted = await client.query(
      `INSERT INTO dataset_snapshots (id, project_id, round_key, label_config, task_spec, train_count, held_out_count, skipped_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
      [snapshotId, args.projectId, args.roundKey, args.labelConfig, JSON.stringify(args.task), examples.length - heldOutCount, heldOutCount, skipped],
    );
    if (inserted.rowCount === 0) return; // a concurrent attempt won; its snapshot is identical
    await client.query(
      `INSERT INTO snapshot_examples (snapshot_id, task_id, annotation_id, text, labels, held_out)
       SELECT $1, task_id, annotation_id, text, ARRAY(SELECT jsonb_array_elements_text(labels)), held_out
         FROM jsonb_to_recordset($2::jsonb) AS x(task_id bigint, annotation_id bigint, text text, labels jsonb, held_out boolean)`,
      [snapshotId, JSON.stringify(examples)],
    );
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
    'SELECT id, train_count, held_out_count, skipped_count, task_spec FROM dataset_snapshots WHERE id = $1',
    [snapshotId],
  );
  if (!rows[0]) throw new Error(`snapshot ${snapshotId} does not exist`);
  return {
    snapshotId: rows[0].id,
    trainCount: rows[0].train_count,
    heldOutCount: rows[0].held_out_count,
    skippedCount: rows[0].skipped_count,
    task: rows[0].task_spec,
  };
}

export async function snapshotExamples(db: Db, snapshotId: string, heldOut: boolean): Promise<SnapshotExample[]> {
  const { rows } = await db.query<{ task_id: number; text: string; labels: string[] }>(
    'SELECT task_id, text, labels FROM snapshot_examples WHERE snapshot_id = $1 AND held_out = $2 ORDER BY task_id',
    [snapshotId, heldOut],
  );
  return rows.map((r) => ({ taskId: r.task_id, text: r.text, labels: r.labels }));
}
