import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import { claimForwardBatches, markForwarded } from '../store/events.js';
import type { LoopGateway } from './loopGateway.js';

/**
 * Moves recorded webhook events from the outbox to the loops, one signal per project batch.
 * Runs beside the API: an event committed by `/webhook` reaches its loop even if Temporal was
 * down when it arrived (it is retried here with backoff until it is delivered).
 */
export class EventForwarder {
  private running = false;
  private kicked = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly gateway: Pick<LoopGateway, 'signalEvents'>,
    private readonly log: Logger,
    private readonly pollMs = 1_000,
    private readonly minIntervalMs = 100,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoffMs = 0;
    let lastCycle = 0;
    while (this.running) {
      // Under load, commits arrive every few ms; one forwarding cycle per interval carries all of
      // them in a single signal per project, instead of competing with the intake for PostgreSQL.
      const since = Date.now() - lastCycle;
      if (since < this.minIntervalMs) await new Promise((r) => setTimeout(r, this.minIntervalMs - since));
      lastCycle = Date.now();
      this.kicked = false;
      let forwarded = 0;
      try {
        // Each claim gets a fresh id: the loop drops a batch id it has seen before.
        const batches = await claimForwardBatches(this.db, randomUUID());
        for (const batch of batches) {
          await this.gateway.signalEvents(batch);
          await markForwarded(this.db, batch.batchId);
          forwarded += batch.events;
        }
        backoffMs = 0;
      } catch (err) {
        backoffMs = Math.min(Math.max(backoffMs * 2, 500), 30_000);
        this.log.warn({ err: (err as Error).message, retryInMs: backoffMs }, 'forwarding webhook events to Temporal failed; will retry');
      }
      if (!this.running) break;
      // More may wait beyond the claim limit, or have been recorded meanwhile.
      if ((forwarded > 0 || this.kicked) && backoffMs === 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoffMs || this.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }
}
