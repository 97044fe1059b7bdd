import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Named timeout/retry profiles, declared once where activities are proxied.
 * Permanent faults (bad config, no data) are thrown as non-retryable ApplicationFailures by the
 * activities themselves, so the retry policies only ever see transient ones.
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
