/**
 * What a round trains and evaluates on, decided from the project's live annotations: a pure
 * function, so the rules (which annotation wins, which labels are audit items) are tested without
 * a database and the store only saves the result. Nothing is held out: the served model trains on
 * every label, and audit items are scored by cross-validation.
 */
import { resultLabels, taskText, type ClassificationTask } from '../labelstudio/labelConfig.js';
import { isAudit } from './audit.js';

/** A live annotation with its task's data (store/tasks.ts `liveAnnotations`). */
export interface AnnotatedTask {
  taskId: number;
  annotationId: number;
  result: unknown;
  wasCancelled: boolean;
  /** Label Studio's updated_at (ISO), null when unknown. */
  sourceUpdatedAt: string | null;
  data: unknown;
}

export interface SnapshotExample {
  taskId: number;
  annotationId: number;
  text: string;
  labels: string[];
  /** An audit item: a task of the audit stream, whose label an evaluation scores (dataset/audit.ts). */
  audit: boolean;
}

export interface DatasetSnapshot {
  examples: SnapshotExample[];
  /** Every labelled example: the served model trains on all of them. */
  trainCount: number;
  /** Of which audit items. */
  auditCount: number;
  /** Annotated tasks that teach nothing: no text under the config's field, or no label of its <Choices>. */
  skippedCount: number;
}

/** Newer first: Label Studio's updated_at (unknown last), then the higher annotation id. */
function newer(a: AnnotatedTask, b: AnnotatedTask): boolean {
  if (a.sourceUpdatedAt !== b.sourceUpdatedAt) {
    if (a.sourceUpdatedAt === null) return false;
    if (b.sourceUpdatedAt === null) return true;
    return Date.parse(a.sourceUpdatedAt) > Date.parse(b.sourceUpdatedAt);
  }
  return a.annotationId > b.annotationId;
}

/**
 * The snapshot of a project's labels: per task, its newest annotation that is not cancelled
 * (a skip is not a label); the labels that annotation gives through the config's <Choices>
 * (single-label: the first); whether the task is an audit item. Examples are in task-id order.
 */
export function buildSnapshot(
  rows: readonly AnnotatedTask[],
  task: ClassificationTask,
  audit: { projectId: number; share: number },
): DatasetSnapshot {
  const winner = new Map<number, AnnotatedTask>();
  for (const row of rows) {
    if (row.wasCancelled) continue;
    const current = winner.get(row.taskId);
    if (!current || newer(row, current)) winner.set(row.taskId, row);
  }
  const examples: SnapshotExample[] = [];
  let skippedCount = 0;
  for (const row of [...winner.values()].sort((a, b) => a.taskId - b.taskId)) {
    const text = taskText(task, row.data);
    let labels = resultLabels(task, row.result);
    if (!task.multiLabel) labels = labels.slice(0, 1);
    // Unlabelled results (another control, or labels removed from the config) teach nothing.
    if (text === undefined || (labels.length === 0 && !task.multiLabel)) {
      skippedCount++;
      continue;
    }
    examples.push({ taskId: row.taskId, annotationId: row.annotationId, text, labels, audit: isAudit(audit.projectId, row.taskId, audit.share) });
  }
  return { examples, trainCount: examples.length, auditCount: examples.filter((e) => e.audit).length, skippedCount };
}
