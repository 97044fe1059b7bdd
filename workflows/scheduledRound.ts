import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { onQueue, SHORT_IO } from './profiles.js';

/**
 * Started by a project's Temporal Schedule: asks the project's loop for a round (signal-with-
 * start, through an activity). The loop drops the request while a round runs or is due, so a
 * schedule never makes two rounds at once nor a pile of them after a long one.
 */
export async function scheduledRound({ projectId, schedule }: { projectId: number; schedule: string }): Promise<void> {
  const { requestScheduledRound } = proxyActivities<Activities>(onQueue(SHORT_IO, 'io'));
  await requestScheduledRound({ projectId, schedule });
}
