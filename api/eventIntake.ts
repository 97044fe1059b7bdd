import type { Db } from '../store/db.js';
import { withTransaction } from '../store/db.js';
import { recordEvents } from '../store/events.js';
import type { LoopEvent } from '../labelstudio/webhooks.js';

interface Pending {
  event: LoopEvent;
  resolve: (isNew: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Durable intake for webhook events. A request is acknowledged only after its event is
 * committed. Requests that arrive while a commit is in flight are written together in the next
 * one (group commit), so a burst costs a few transactions, not one per event: that is what keeps
 * the acknowledgement fast at 1,000 events/s on two cores.
 */
export class EventIntake {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly db: Db,
    /** Called after each commit that recorded new events (the forwarder's cue). */
    private readonly onRecorded: () => void,
    private readonly maxBatch = 500,
  ) {}

  /** Resolves true when the event was new, false for a redelivery; rejects if it was not stored. */
  record(event: LoopEvent): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const accepted = await withTransaction(this.db, (client) => recordEvents(client, batch.map((p) => p.event)));
          batch.forEach((p, i) => p.resolve(accepted[i]));
          if (accepted.some(Boolean)) this.onRecorded();
        } catch (err) {
          batch.forEach((p) => p.reject(err));
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
