/**
 * Where a round's live progress goes: its row in the rounds table (the API's status, the CLI,
 * the dashboard) and a signal to its workflow, which shows it as the round's current details in
 * the Temporal Web UI. At most one report per round per second (the last of a step always goes),
 * so a fast training loop costs a handful of history events, not hundreds. Best effort: a lost
 * report is replaced by the next one and never fails the activity.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { ProgressSink } from '../activities/index.js';
import { roundProgressSignal } from '../contract/index.js';
import { recordRoundProgress } from '../store/rounds.js';
import type { Db } from '../store/db.js';

const EVERY_MS = 1_000;
const REMEMBERED = 1_000;

export function createProgressSink(db: Db, client: Client, log: Logger): ProgressSink {
  const last = new Map<string, number>();
  return (where, progress) => {
    const now = Date.now();
    const final = progress.total > 0 && progress.done >= progress.total;
    const key = `${where.workflowId}:${progress.step}`;
    if (!final && now - (last.get(key) ?? 0) < EVERY_MS) return;
    last.delete(key);
    last.set(key, now);
    if (last.size > REMEMBERED) last.delete(last.keys().next().value!);
    const warn = (err: unknown) => log.debug({ err: (err as Error).message, workflowId: where.workflowId }, 'progress report not delivered');
    recordRoundProgress(db, where.projectId, where.round, progress).catch(warn);
    client.workflow.getHandle(where.workflowId).signal(roundProgressSignal, progress).catch(warn);
  };
}
