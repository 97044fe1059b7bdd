import { workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import { activityTaskQueue, type ActivityQueueRole } from '../contract/index.js';

/**
 * Named timeout/retry profiles, declared once where activities are proxied, and the task queue
 * each kind of activity runs on (contract `activityTaskQueue`: `<workflow queue>-compute`,
 * `<workflow queue>-io`). Permanent faults (bad config, no data) are thrown as non-retryable
 * ApplicationFailures by the activities themselves, so the retry policies only ever see transient ones.
 */

/** Database and Label Studio calls: quick, retried with backoff for about ten minutes. */
export const SHORT_IO: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 15 },
};

/**
 * Training and bulk prediction: long, heartbeating. A worker that dies is noticed after the
 * heartbeat timeout, and the next attempt resumes from the last checkpoint / finished chunk.
 * Heartbeats go out at least once per epoch and per chunk, which are well under a second for
 * the model sizes we train (see model/classifier.ts).
 */
export const LONG_COMPUTE: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};

/**
 * Paged I/O with Label Studio (reconcile, push): minutes for large projects, heartbeating per
 * page. A stalled page fails the attempt after the heartbeat timeout instead of after hours.
 */
export const LONG_IO: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 15 },
};

/**
 * A profile on the queue of its kind of activity, derived from the running workflow's own task
 * queue (so the same code serves every deployment and every test's queue). Call it inside
 * workflow code, not at module load: workflowInfo() exists only there.
 */
export function onQueue(profile: ActivityOptions, role: ActivityQueueRole): ActivityOptions {
  return { ...profile, taskQueue: activityTaskQueue(workflowInfo().taskQueue, role) };
}

/** The profiles of a round's activities, each on its queue. */
export function roundProfiles() {
  return { shortIo: onQueue(SHORT_IO, 'io'), longIo: onQueue(LONG_IO, 'io'), longCompute: onQueue(LONG_COMPUTE, 'compute') };
}
