/**
 * When a project's loop starts its next round: a pure policy over the loop's pending state.
 * The workflow keeps the state and the timers; this module only decides, so it is tested as a
 * plain function (no server, no sleeps).
 */
import type { DebounceSettings, ProjectMode } from '../contract/index.js';

/** What the loop has seen since its last round started. Times are workflow time in ms. */
export interface PendingWork {
  pendingAnnotations: number;
  firstPendingAt: number | null;
  lastEventAt: number | null;
  /** A round was asked for (START_TRAINING, the API, an operator). */
  trainingRequested: boolean;
  /** Events arrived while a round was running: they earn exactly one follow-up round. */
  followUpDue: boolean;
}

export type DebounceTrigger = 'requested' | 'follow-up' | 'annotations' | 'max-wait';

/**
 * Workflow time at which the next round is due, or null when nothing is pending.
 * - requested: right away (at the request's time);
 * - enough annotations (or a follow-up): once the stream has been quiet for `quietPeriodMs`,
 *   but never later than `maxWaitMs` after the first pending event;
 * - otherwise: `maxWaitMs` after the first pending event, whatever the count.
 * In `batch` mode only a request starts a round; annotation events wait for it.
 */
export function nextRoundAt(p: PendingWork, settings: DebounceSettings & { mode?: ProjectMode }): number | null {
  if (p.trainingRequested) return p.lastEventAt ?? 0;
  if (settings.mode === 'batch') return null;
  if (p.firstPendingAt === null || p.lastEventAt === null) return null;
  const deadline = p.firstPendingAt + settings.maxWaitMs;
  if (p.followUpDue || p.pendingAnnotations >= settings.minAnnotations) {
    return Math.min(p.lastEventAt + settings.quietPeriodMs, deadline);
  }
  return deadline;
}

/** Why a due round starts, for its summary and search attributes. */
export function roundTrigger(p: PendingWork, settings: DebounceSettings): DebounceTrigger {
  if (p.trainingRequested) return 'requested';
  if (p.followUpDue) return 'follow-up';
  return p.pendingAnnotations >= settings.minAnnotations ? 'annotations' : 'max-wait';
}

/**
 * Whether a sleeping loop must wake early: only when a round became due sooner than the timer it
 * sleeps on. An event that merely extends the quiet period leaves the timer running and is
 * re-checked when it fires: one timer per quiet period, not one per signal, which keeps the
 * history (and the Web UI's timeline) short.
 */
export function dueSooner(sleepingUntil: number | null, next: number | null): boolean {
  return next !== null && (sleepingUntil === null || next < sleepingUntil);
}
