/**
 * Live progress of a round's long steps: every report is the activity's heartbeat (shown for the
 * pending activity in the Web UI, and what a retried attempt resumes from), and goes to the
 * progress sink (worker/progress.ts: the round's "current details" in the Web UI and the rounds
 * table behind the API and the dashboard).
 */
import { activityInfo, CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import type { RoundProgress, RoundStep } from '../contract/index.js';

export type ProgressSink = (where: { projectId: number; round: number; workflowId: string }, progress: RoundProgress) => void;

/** A report function for one step of one round; `extra` fields go into the heartbeat only. */
export function progressReporter(sink: ProgressSink | undefined, projectId: number, round: number | undefined, step: RoundStep) {
  const workflowId = activityInfo().workflowExecution?.workflowId ?? 'unknown';
  return (done: number, total: number, unit: string, detail: string, extra: Record<string, unknown> = {}) => {
    const progress: RoundProgress = { step, done, total, unit, detail };
    heartbeat({ ...extra, ...progress });
    // A round terminated or cancelled (or an attempt the server gave up on) stops here rather
    // than burn the worker's CPU to the end of a long training for nobody.
    const signal = Context.current().cancellationSignal;
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledFailure(String(signal.reason ?? 'cancelled'));
    if (sink && round !== undefined) sink({ projectId, round, workflowId }, progress);
  };
}
