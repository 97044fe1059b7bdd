import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { ProjectSchedules } from '../../client/loops.js';
import { scheduleIdOf } from '../../contract/index.js';

/**
 * A Temporal client stand-in for the one race a live server does not reproduce on demand: the
 * schedule listing comes from visibility and lags behind a delete.
 */
function clientListing(ids: string[], gone: Set<string>): Client {
  const description = (id: string) => ({
    spec: { cronExpressions: ['0 2 * * *'], timezone: 'UTC' },
    memo: { spec: { cron: '0 2 * * *', timezone: 'UTC' } },
    state: { paused: false, note: undefined },
    info: { nextActionTimes: [new Date('2026-12-07T02:00:00Z')], recentActions: [] },
    scheduleId: id,
  });
  return {
    schedule: {
      async *list() {
        for (const scheduleId of ids) yield { scheduleId };
      },
      getHandle: (id: string) => ({
        describe: async () => {
          if (gone.has(id)) throw new ScheduleNotFoundError('schedule not found', id);
          return description(id);
        },
      }),
    },
  } as unknown as Client;
}

describe('ProjectSchedules.list', () => {
  it('leaves out a schedule the listing still shows but that was deleted since', async () => {
    const ids = [scheduleIdOf(7, 'nightly'), scheduleIdOf(7, 'hourly'), scheduleIdOf(8, 'nightly')];
    const schedules = new ProjectSchedules({ client: clientListing(ids, new Set([scheduleIdOf(7, 'nightly')])), taskQueue: 'q', settings: {} });
    expect((await schedules.list(7)).map((s) => s.id)).toEqual(['hourly']);
  });

  it('still fails on any other error', async () => {
    const client = clientListing([scheduleIdOf(7, 'nightly')], new Set());
    (client.schedule as any).getHandle = () => ({ describe: async () => Promise.reject(new Error('unavailable')) });
    await expect(new ProjectSchedules({ client, taskQueue: 'q', settings: {} }).list(7)).rejects.toThrow('unavailable');
  });
});
