import type { Db } from '../store/db.js';
import { isUnavailable, withTransaction } from '../store/db.js';
import { recordEvents, type EventEffects, type IntakeItem, type IntakeOutcome } from '../store/events.js';
import { annotationChanges, dedupKey, type LoopEvent } from '../labelstudio/webhooks.js';
import { HttpError, UnavailableError } from './errors.js';

/** What one normalised webhook event means for the outbox and for tasks and annotations. */
export function toIntakeItem(event: LoopEvent): IntakeItem {
  const effects: EventEffects = { labelConfig: undefined, tasks: [], annotations: [], deletedTaskIds: [], deletedAnnotationIds: [] };
  let taskChanges = 0;
  if ('labelConfig' in event && event.labelConfig) effects.labelConfig = event.labelConfig;
  switch (event.kind) {
    case 'annotation': {
      const a = event.annotation;
      effects.tasks.push({ id: event.task.id, projectId: event.projectId, data: event.task.data });
      effects.annotations.push({
        id: a.id,
        projectId: event.projectId,
        taskId: a.taskId,
        result: a.result,
        wasCancelled: a.wasCancelled,
        sourceUpdatedAt: a.updatedAt ?? null,
      });
      break;
    }
    case 'tasks_created':
      // No push(...list): a spread of 200,000 arguments overflows the stack.
      effects.tasks = event.tasks.map((t) => ({ id: t.id, projectId: event.projectId, data: t.data }));
      taskChanges = event.tasks.length;
      break;
    case 'tasks_deleted':
      effects.deletedTaskIds = event.taskIds;
      taskChanges = event.taskIds.length;
      break;
    case 'annotations_deleted':
      effects.deletedAnnotationIds = event.annotationIds;
      break;
    case 'start_training':
      break;
  }
  return {
    event: {
      projectId: event.projectId,
      action: event.action,
      dedupKey: dedupKey(event),
      annotationChanges: annotationChanges(event),
      taskChanges,
      trainingRequested: event.kind === 'start_training',
      payload: event,
    },
    effects,
  };
}

/** How long to refuse new events after an outage error before trying PostgreSQL again (ms). */
const OUTAGE_BACKOFF_MS = 1_000;

interface Pending {
  item: IntakeItem;
  resolve: (outcome: IntakeOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * Durable intake for webhook events. A request is acknowledged only after its event is
 * committed. Requests that arrive while a commit is in flight are written together in the next
 * one (group commit), so a burst costs a few transactions, not one per event: that is what keeps
 * the acknowledgement fast at 1,000 events/s on two cores.
 *
 * Failure is per request: events are validated before they queue, a batch whose transaction
 * fails is retried member by member (so one bad event cannot fail its neighbours), and the queue
 * is bounded: when it is full, new events are refused with 503 and Retry-After instead of
 * growing memory while PostgreSQL is slow or down.
 */
export class EventIntake {
  private queue: Pending[] = [];
  private flushing = false;
  /** After a commit failed for an outage, new events are refused at once for a moment. */
  private unavailableUntil = 0;

  constructor(
    private readonly db: Db,
    /** Called after each commit that recorded new events (the forwarder's cue). */
    private readonly onRecorded: () => void,
    private readonly limits: { maxQueue: number; maxBatch?: number } = { maxQueue: 5_000 },
  ) {}

  /** Events waiting for their commit (a gauge for metrics and the 503 decision). */
  get depth(): number {
    return this.queue.length;
  }

  /** Resolves with the event's outcome once committed; rejects if it could not be stored. */
  record(event: LoopEvent): Promise<IntakeOutcome> {
    if (this.queue.length >= this.limits.maxQueue) {
      return Promise.reject(new HttpError(503, `webhook intake is full (${this.limits.maxQueue} events waiting for PostgreSQL); retry later`, { 'retry-after': '2' }));
    }
    if (Date.now() < this.unavailableUntil) return Promise.reject(new UnavailableError('PostgreSQL', 2));
    const item = toIntakeItem(event);
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.limits.maxBatch ?? 500);
        try {
          const outcomes = await withTransaction(this.db, (client) => recordEvents(client, batch.map((p) => p.item)));
          batch.forEach((p, i) => p.resolve(outcomes[i]));
          if (outcomes.some((o) => o.status === 'recorded')) this.onRecorded();
        } catch (err) {
          // An outage fails every member alike (503 each); retrying them one by one would only
          // multiply the wait. Any other error may be one member's fault: which one is unknown,
          // so each gets its own transaction and its own answer.
          if (isUnavailable(err)) {
            this.unavailableUntil = Date.now() + OUTAGE_BACKOFF_MS;
            // Everything queued behind this batch would wait for the same dead connection.
            for (const p of [...batch, ...this.queue.splice(0)]) p.reject(err);
          } else if (batch.length === 1) batch[0].reject(err);
          else await this.oneByOne(batch);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async oneByOne(batch: Pending[]): Promise<void> {
    let recorded = false;
    for (const p of batch) {
      try {
        const [outcome] = await withTransaction(this.db, (client) => recordEvents(client, [p.item]));
        if (outcome.status === 'recorded') recorded = true;
        p.resolve(outcome);
      } catch (err) {
        p.reject(err);
      }
    }
    if (recorded) this.onRecorded();
  }
}
