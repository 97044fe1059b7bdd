import {
  condition,
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  log,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import {
  DEFAULT_DEBOUNCE,
  championVersionKey,
  eventsRecordedSignal,
  loopStatusQuery,
  requestRoundSignal,
  roundWorkflowId,
  updateSettingsSignal,
  type DebounceSettings,
  type LoopStatus,
  type RoundResult,
  type TrainOverrides,
} from './definitions.js';
import { trainingRound } from './trainingRound.js';
import { SHORT_IO } from './profiles.js';

const { loadChampion } = proxyActivities<ReturnType<typeof createActivities>>(SHORT_IO);

/** Pending state that must survive continue-as-new. Times are workflow time in ms. */
export interface LoopCarry {
  pendingAnnotations: number;
  pendingTasks: number;
  firstPendingAt: number | null;
  lastEventAt: number | null;
  trainingRequested: boolean;
  overrides: TrainOverrides | null;
  followUpDue: boolean;
  roundsStarted: number;
  championVersion: string | null;
  lastRound: RoundResult | null;
  lastError: string | null;
  /** Batch ids of recent forwarder signals: a re-sent batch is counted once. */
  recentBatchIds: string[];
}

export interface ProjectLoopInput {
  projectId: number;
  settings?: Partial<DebounceSettings>;
  carry?: LoopCarry;
  /** Continue-as-new after this many history events (default 4,000). */
  historyLimit?: number;
}

const RECENT_BATCHES = 200;
// Well below Temporal's 10,240-event warning; each event batch costs ~3 history events.
const MAX_HISTORY_EVENTS = 4_000;

/**
 * One long-lived workflow per Label Studio project. Signals from the webhook forwarder are
 * debounced into training rounds, run one at a time as child workflows.
 */
export async function projectLoop(input: ProjectLoopInput): Promise<never> {
  const { projectId } = input;
  let settings: DebounceSettings = { ...DEFAULT_DEBOUNCE, ...input.settings };
  const s: LoopCarry = input.carry ?? {
    pendingAnnotations: 0,
    pendingTasks: 0,
    firstPendingAt: null,
    lastEventAt: null,
    trainingRequested: false,
    overrides: null,
    followUpDue: false,
    roundsStarted: 0,
    championVersion: null,
    lastRound: null,
    lastError: null,
    recentBatchIds: [],
  };
  let currentRound: number | null = null;
  let settingsVersion = 0;

  const notePending = () => {
    const now = Date.now();
    s.firstPendingAt ??= now;
    s.lastEventAt = now;
    if (currentRound !== null) s.followUpDue = true;
  };

  setHandler(eventsRecordedSignal, (batch) => {
    if (s.recentBatchIds.includes(batch.batchId)) return;
    s.recentBatchIds.push(batch.batchId);
    if (s.recentBatchIds.length > RECENT_BATCHES) s.recentBatchIds.shift();
    s.pendingTasks += batch.taskChanges;
    if (batch.trainingRequested) s.trainingRequested = true;
    if (batch.annotationChanges > 0 || batch.trainingRequested) {
      s.pendingAnnotations += batch.annotationChanges;
      notePending();
    }
  });
  setHandler(requestRoundSignal, ({ overrides }) => {
    s.trainingRequested = true;
    if (overrides) s.overrides = overrides;
    notePending();
  });
  setHandler(updateSettingsSignal, (patch) => {
    settings = { ...settings, ...patch };
    settingsVersion++;
  });
  setHandler(
    loopStatusQuery,
    (): LoopStatus => ({
      projectId,
      phase: currentRound !== null ? 'training' : nextRoundAt() === null ? 'idle' : 'waiting',
      pendingAnnotations: s.pendingAnnotations,
      pendingTasks: s.pendingTasks,
      trainingRequested: s.trainingRequested,
      followUpDue: s.followUpDue,
      currentRound,
      roundsStarted: s.roundsStarted,
      championVersion: s.championVersion,
      lastRound: s.lastRound,
      lastError: s.lastError,
      nextRoundAt: nextRoundAt(),
      settings,
    }),
  );

  /** Workflow time at which the next round is due, or null when nothing is pending. */
  function nextRoundAt(): number | null {
    if (s.trainingRequested) return s.lastEventAt ?? 0;
    if (s.firstPendingAt === null || s.lastEventAt === null) return null;
    const deadline = s.firstPendingAt + settings.maxWaitMs;
    // Events that arrived during a round earn exactly one follow-up round, whatever their count.
    if (s.followUpDue || s.pendingAnnotations >= settings.minAnnotations) {
      return Math.min(s.lastEventAt + settings.quietPeriodMs, deadline);
    }
    return deadline;
  }

  if (!input.carry) {
    // A fresh loop for a project that already has a champion (e.g. after the workflow was
    // terminated) reports it right away.
    s.championVersion = await loadChampion({ projectId });
  }

  const continueAsNewDue = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (input.historyLimit ?? MAX_HISTORY_EVENTS);
  while (!continueAsNewDue()) {
    const due = nextRoundAt();
    if (due !== null && due <= Date.now()) {
      await runRound();
      continue;
    }
    // Wake early only when a round became due sooner (a request, the first pending event, new
    // settings). An event that merely extends the quiet period leaves the timer running and is
    // re-checked when it fires: one timer per quiet period, not one per signal, which keeps the
    // history (and the Web UI's timeline) short.
    const seenSettings = settingsVersion;
    await condition(() => {
      const next = nextRoundAt();
      return settingsVersion !== seenSettings || (next !== null && (due === null || next < due)) || continueAsNewDue();
    }, due === null ? undefined : due - Date.now());
  }

  await condition(allHandlersFinished);
  return continueAsNew<typeof projectLoop>({ projectId, settings, carry: s, historyLimit: input.historyLimit });

  async function runRound(): Promise<void> {
    const round = s.roundsStarted + 1;
    s.roundsStarted = round;
    const trigger = s.trainingRequested
      ? 'requested'
      : s.followUpDue
        ? 'follow-up'
        : s.pendingAnnotations >= settings.minAnnotations
          ? 'annotations'
          : 'max-wait';
    const overrides = s.overrides ?? undefined;
    s.pendingAnnotations = 0;
    s.pendingTasks = 0;
    s.firstPendingAt = null;
    s.lastEventAt = null;
    s.trainingRequested = false;
    s.overrides = null;
    s.followUpDue = false;
    currentRound = round;
    try {
      const result = await executeChild(trainingRound, {
        workflowId: roundWorkflowId(projectId, round),
        args: [{ projectId, round, trigger, overrides }],
        // A round in flight finishes even if its loop is terminated by an operator.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      s.lastRound = result;
      s.lastError = null;
      if (result.championVersion && result.championVersion !== s.championVersion) {
        s.championVersion = result.championVersion;
        upsertSearchAttributes([{ key: championVersionKey, value: result.championVersion }]);
      }
    } catch (err) {
      // A failed round (e.g. too few labels yet) must not end the loop: record it and wait for
      // more events. The round's own history in the Web UI has the details.
      // The useful message is at the bottom of the chain: child workflow → activity → application failure.
      let cause: unknown = err;
      while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
      s.lastError = cause instanceof Error ? cause.message : String(cause);
      log.warn('training round failed', { projectId, round, error: s.lastError });
    } finally {
      currentRound = null;
    }
  }
}
