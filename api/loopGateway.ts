import { Client, ScheduleAlreadyRunning, ScheduleNotFoundError, ServiceError, WorkflowNotFoundError, isGrpcServiceError } from '@temporalio/client';
import type { ForwardBatch } from '../store/events.js';
import {
  eventsRecordedSignal,
  loopStatusQuery,
  loopWorkflowId,
  replayRoundSignal,
  requestRoundSignal,
  setChampionSignal,
  updateSettingsSignal,
  type ChampionRequest,
  type LoopSettings,
  type LoopStatus,
  type ReplayRequest,
  type RoundRequest,
} from '../contract/index.js';
import { ProjectSchedules, ensureLoopRunning, signalLoop, type LoopTarget, type ScheduleInfo, type ScheduleSpecInput } from '../client/loops.js';
import { HttpError, UnavailableError } from './errors.js';

/**
 * Temporal unreachable, overloaded or past the deadline: the caller answers 503. Other errors
 * (a bug, a refused argument) pass through as they are.
 */
function temporalFailure(err: unknown): unknown {
  if (err instanceof WorkflowNotFoundError || err instanceof HttpError) return err;
  if (err instanceof ScheduleNotFoundError) return new HttpError(404, `schedule: ${err.message}`);
  if (err instanceof ScheduleAlreadyRunning) return new HttpError(409, 'schedule: a schedule with this id already exists');
  const code = isGrpcServiceError(err) ? err.code : (err as { cause?: { code?: number } })?.cause?.code;
  // gRPC: 3 INVALID_ARGUMENT (a cron or interval Temporal refuses), 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE.
  if (code === 3) return new HttpError(400, `schedule: Temporal refused it (${(err as Error).message.slice(0, 200)})`);
  if (code === 4 || code === 8 || code === 14) return new UnavailableError('Temporal');
  if (err instanceof Error && /deadline|unavailable|connect|ECONNREFUSED|timed out/i.test(err.message)) return new UnavailableError('Temporal');
  // Any other refusal of the service (a query no worker answers, a loop whose task queue has
  // no worker any more) is still Temporal's side, not a bug here: 503, with Temporal's reason.
  if (err instanceof ServiceError) return new UnavailableError(`Temporal (${err.message}${err.cause instanceof Error ? `: ${err.cause.message.slice(0, 120)}` : ''})`);
  return err;
}

/** The API's only door into Temporal: start or signal a project's loop, read its state, manage its schedules. */
export class LoopGateway {
  private readonly target: LoopTarget;
  private readonly schedules: ProjectSchedules;

  constructor(
    private readonly client: Client,
    taskQueue: string,
    settings: Partial<LoopSettings>,
    /** Deadline of each call (ms): past it the API answers 503 instead of waiting. */
    private readonly timeoutMs = 3_000,
  ) {
    this.target = { client, taskQueue, settings };
    this.schedules = new ProjectSchedules(this.target);
  }

  private async call<T>(fn: () => Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    try {
      return await this.client.connection.withDeadline(Date.now() + timeoutMs, fn);
    } catch (err) {
      throw temporalFailure(err);
    }
  }

  async signalEvents(batch: ForwardBatch): Promise<void> {
    await this.call(() =>
      signalLoop(this.target, batch.projectId, eventsRecordedSignal, {
        batchId: batch.batchId,
        annotationChanges: batch.annotationChanges,
        taskChanges: batch.taskChanges,
        trainingRequested: batch.trainingRequested,
      }),
    );
  }

  async requestRound(projectId: number, reason: string, overrides?: RoundRequest['overrides']): Promise<void> {
    await this.call(() => signalLoop(this.target, projectId, requestRoundSignal, { reason, overrides }));
  }

  async replayRound(projectId: number, request: ReplayRequest): Promise<void> {
    await this.call(() => signalLoop(this.target, projectId, replayRoundSignal, request));
  }

  async changeChampion(projectId: number, request: ChampionRequest): Promise<void> {
    await this.call(() => signalLoop(this.target, projectId, setChampionSignal, request));
  }

  async updateSettings(projectId: number, patch: Partial<LoopSettings>): Promise<void> {
    await this.call(() => signalLoop(this.target, projectId, updateSettingsSignal, patch));
  }

  /**
   * Starts the project's loop unless it is running, without requesting a round (`label-loop
   * connect`): its status exists from then on. A running loop is left as it is.
   */
  async ensureRunning(projectId: number): Promise<void> {
    await this.call(() => ensureLoopRunning(this.target, projectId));
  }

  /** The loop's live state, or null when the project has no running loop. */
  async status(projectId: number): Promise<LoopStatus | null> {
    try {
      const handle = this.client.workflow.getHandle(loopWorkflowId(projectId));
      // A loop an operator terminated is not running: say so (404) rather than ask a worker to
      // replay it, which fails when none polls its task queue any more.
      const { status } = await this.call(() => handle.describe());
      if (status.name !== 'RUNNING') return null;
      return await this.call(() => handle.query(loopStatusQuery));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  // Listing schedules reads each one: allow more than a single call's deadline.
  listSchedules = (projectId: number): Promise<ScheduleInfo[]> => this.call(() => this.schedules.list(projectId), this.timeoutMs * 3);
  createSchedule = (projectId: number, name: string, spec: ScheduleSpecInput, note?: string) => this.call(() => this.schedules.create(projectId, name, spec, note));
  pauseSchedule = (projectId: number, name: string, note?: string) => this.call(() => this.schedules.pause(projectId, name, note));
  resumeSchedule = (projectId: number, name: string, note?: string) => this.call(() => this.schedules.resume(projectId, name, note));
  triggerSchedule = (projectId: number, name: string) => this.call(() => this.schedules.trigger(projectId, name));
  deleteSchedule = (projectId: number, name: string) => this.call(() => this.schedules.delete(projectId, name));
}
