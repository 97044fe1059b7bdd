/**
 * The Temporal client side of the contract: starting and signalling project loops, and their
 * Temporal Schedules. Used by the API (through api/loopGateway.ts, which adds deadlines and HTTP
 * errors), by activities (a schedule's round request) and by the CLI. Never imports workflow
 * code: workflows are addressed by type name and id.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleSpec } from '@temporalio/client';
import type { SignalDefinition, Workflow } from '@temporalio/common';
import {
  LOOP_WORKFLOW,
  SCHEDULED_ROUND_WORKFLOW,
  loopWorkflowId,
  projectIdKey,
  schedulePrefix,
  scheduleIdOf,
  type LoopSettings,
  type ProjectLoopInput,
} from '../contract/index.js';

export interface LoopTarget {
  client: Client;
  taskQueue: string;
  /** Settings a loop starts with when a signal creates it (later changes go by signal). */
  settings: Partial<LoopSettings>;
}

/** Start options of a project's loop: readable id, summary, and the project as a search attribute. */
export function loopStartOptions(projectId: number, target: Omit<LoopTarget, 'client'>) {
  return {
    workflowId: loopWorkflowId(projectId),
    taskQueue: target.taskQueue,
    args: [{ projectId, settings: target.settings }] as [ProjectLoopInput],
    typedSearchAttributes: [{ key: projectIdKey, value: projectId }],
    staticSummary: `Label Loop for Label Studio project ${projectId}`,
    staticDetails: [
      `**Label Loop** for Label Studio project **${projectId}**.`,
      '',
      'Debounces annotation events into training rounds, one at a time (child workflows `…-round-N`).',
      'Query `loopStatus` for its state; signals: `requestRound`, `replayRound`, `setChampion`, `updateSettings`.',
    ].join('\n'),
  };
}

/** Signals a project's loop, starting it first when it does not run (signal-with-start). */
export async function signalLoop<T>(target: LoopTarget, projectId: number, signal: SignalDefinition<[T]>, arg: T): Promise<void> {
  await target.client.workflow.signalWithStart<Workflow, [T]>(LOOP_WORKFLOW, {
    ...loopStartOptions(projectId, target),
    signal,
    signalArgs: [arg],
  });
}

/** Starts a project's loop unless it runs already (no round is requested). */
export async function ensureLoopRunning(target: LoopTarget, projectId: number): Promise<void> {
  await target.client.workflow.start(LOOP_WORKFLOW, { ...loopStartOptions(projectId, target), workflowIdConflictPolicy: 'USE_EXISTING' });
}

/** When a schedule fires (interval or cron, with a time zone and jitter). */
export interface ScheduleSpecInput {
  /** An interval such as "30m", "1h", "1d". */
  every?: string;
  /** A cron expression (5 fields), evaluated in `timezone`. */
  cron?: string;
  /** IANA time zone, e.g. "Europe/Paris"; default UTC. */
  timezone?: string;
  /** Random delay added to each run, e.g. "5m", so many projects do not train at the same instant. */
  jitter?: string;
}

export interface ScheduleInfo {
  id: string;
  project: number;
  spec: ScheduleSpecInput;
  paused: boolean;
  note: string | null;
  nextRuns: string[];
  recentRuns: string[];
}

function toSpec(input: ScheduleSpecInput): ScheduleSpec {
  return {
    ...(input.every ? { intervals: [{ every: input.every as never }] } : {}),
    ...(input.cron ? { cronExpressions: [input.cron] } : {}),
    ...(input.timezone ? { timezone: input.timezone } : {}),
    ...(input.jitter ? { jitter: input.jitter as never } : {}),
  };
}

const msText = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);

function toInfo(projectId: number, name: string, d: ScheduleDescription): ScheduleInfo {
  const spec = d.spec;
  const interval = spec.intervals?.[0]?.every;
  const memoSpec = (d.memo?.spec ?? {}) as ScheduleSpecInput;
  return {
    id: name,
    project: projectId,
    spec: {
      ...(memoSpec.every || interval !== undefined ? { every: memoSpec.every ?? msText(Number(interval)) } : {}),
      ...(memoSpec.cron ? { cron: memoSpec.cron } : {}),
      ...(spec.timezone ? { timezone: spec.timezone } : {}),
      ...(memoSpec.jitter ? { jitter: memoSpec.jitter } : {}),
    },
    paused: d.state.paused,
    note: d.state.note ?? null,
    nextRuns: (d.info.nextActionTimes ?? []).slice(0, 5).map((t) => t.toISOString()),
    recentRuns: (d.info.recentActions ?? []).slice(-5).map((a) => a.takenAt.toISOString()),
  };
}

/**
 * Per-project Temporal Schedules that request rounds. The action starts `scheduledRound`, which
 * asks the loop for a round and is a no-op while one runs; overlapping firings are skipped.
 */
export class ProjectSchedules {
  constructor(private readonly target: LoopTarget) {}

  async create(projectId: number, name: string, spec: ScheduleSpecInput, note?: string): Promise<ScheduleInfo> {
    const handle = await this.target.client.schedule.create({
      scheduleId: scheduleIdOf(projectId, name),
      spec: toSpec(spec),
      action: {
        type: 'startWorkflow',
        workflowType: SCHEDULED_ROUND_WORKFLOW,
        workflowId: `${scheduleIdOf(projectId, name)}-run`,
        taskQueue: this.target.taskQueue,
        args: [{ projectId, schedule: name }],
        staticSummary: `Scheduled round request for project ${projectId} (${name})`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      memo: { projectId, spec },
      ...(note ? { state: { note } } : {}),
    });
    return toInfo(projectId, name, await handle.describe());
  }

  async list(projectId: number): Promise<ScheduleInfo[]> {
    const prefix = schedulePrefix(projectId);
    const out: ScheduleInfo[] = [];
    for await (const s of this.target.client.schedule.list()) {
      if (!s.scheduleId.startsWith(prefix)) continue;
      const name = s.scheduleId.slice(prefix.length);
      // Round workflows share the prefix (…-round-N) but are not schedules; names never start with "round-".
      // The listing comes from visibility, which lags: a schedule deleted a moment ago may still be
      // in it (on a production server with SQL visibility for up to a second or so). It is gone.
      const description = await this.target.client.schedule
        .getHandle(s.scheduleId)
        .describe()
        .catch((err: unknown) => {
          if (err instanceof ScheduleNotFoundError) return null;
          throw err;
        });
      if (description) out.push(toInfo(projectId, name, description));
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async describe(projectId: number, name: string): Promise<ScheduleInfo> {
    return toInfo(projectId, name, await this.target.client.schedule.getHandle(scheduleIdOf(projectId, name)).describe());
  }

  async pause(projectId: number, name: string, note?: string): Promise<ScheduleInfo> {
    await this.target.client.schedule.getHandle(scheduleIdOf(projectId, name)).pause(note ?? 'paused through Label Loop');
    return this.describe(projectId, name);
  }

  async resume(projectId: number, name: string, note?: string): Promise<ScheduleInfo> {
    await this.target.client.schedule.getHandle(scheduleIdOf(projectId, name)).unpause(note ?? 'resumed through Label Loop');
    return this.describe(projectId, name);
  }

  async trigger(projectId: number, name: string): Promise<void> {
    await this.target.client.schedule.getHandle(scheduleIdOf(projectId, name)).trigger(ScheduleOverlapPolicy.SKIP);
  }

  async delete(projectId: number, name: string): Promise<void> {
    await this.target.client.schedule.getHandle(scheduleIdOf(projectId, name)).delete();
  }
}
