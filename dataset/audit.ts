/**
 * The audit stream: a fixed, pseudo-random share of each project's tasks that Label Loop serves
 * to annotators in random order (interleaved with the strategy's picks), so their labels are an
 * unbiased sample of the pool. Rounds score models on them (model/crossValidation.ts), and the
 * promotion gate compares candidate and champion on them (policies/promotion.ts).
 *
 * A task's draw is a hash of (project, task, salt) mapped to [0, 1): a task is audit when its draw
 * (salt 1) is below the share, and audit tasks are served in the order of their draw with salt 2.
 * The same function runs in PostgreSQL (`label_loop_draw`, store/migrations/005_audit.sql), so
 * queries can filter and order by it; a test checks both agree.
 */
import { createHash } from 'node:crypto';

/** Uniform in [0, 1): the first 32 bits of md5("project:task:salt"). */
export function draw(projectId: number, taskId: number, salt: number): number {
  return createHash('md5').update(`${projectId}:${taskId}:${salt}`).digest().readUInt32BE(0) / 2 ** 32;
}

export const AUDIT_SALT = 1;
export const ORDER_SALT = 2;

/** Whether the task belongs to the project's audit stream at this share (0 … 1). */
export function isAudit(projectId: number, taskId: number, share: number): boolean {
  return share > 0 && draw(projectId, taskId, AUDIT_SALT) < share;
}
