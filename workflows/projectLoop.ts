import {
  condition,
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  log,
  ApplicationFailure,
} from '@temporalio/workflow';
import { ApplicationFailureCategory } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import {
  DEFAULT_DEBOUNCE,
  championVersionKey,
  eventsRecordedSignal,
  loopStatusQuery,
  projectIdKey,
  replayOfKey,
  replayRoundSignal,
  requestRoundSignal,
  roundFinishedSignal,
  roundNumberKey,
  roundWorkflowId,
  setChampionSignal,
  updateSettingsSignal,
  type ChampionRequest,
  type LoopSettings,
  type LoopStatus,
  type ProjectLoopInput,
  type ReplayRequest,
  type RoundFinished,
  type RoundInput,
  type RoundResult,
  type RoundTrigger,
  type TrainOverrides,
} from '../contract/index.js';
import { dueSooner, nextRoundAt as dueAt, roundTrigger } from '../policies/debounce.js';
import { trainingRound } from './trainingRound.js';
import { onQueue, SHORT_IO } from './profiles.js';

/** An operator's request, run as a round of its own once no round runs. */
type QueuedOperation = { kind: 'replay'; request: ReplayRequest } | { kind: 'champion'; request: ChampionRequest };

/** Pending state that must survive continue-as-new. Times are workflow time in ms. */
export interface LoopCarry {
  pendingAnnotations: number;
  pendingTasks: number;
  firstPendingAt: number | null;
  lastEventAt: number | null;
  trainingRequested: boolean;
  requestTrigger: 'requested' | 'schedule' | null;
  overrides: TrainOverrides | null;
  followUpDue: boolean;
  roundsStarted: number;
  championVersion: string | null;
  lastRound: RoundResult | null;
  lastError: string | null;
  lastErrorRound: number | null;
  queue: QueuedOperation[];
  /** Batch ids of recent forwarder signals: a re-sent batch is counted once. */
  recentBatchIds: string[];
}

/** The loop's input: the contract's, plus the state carried over by continue-as-new. */
export interface ProjectLoopArgs extends ProjectLoopInput {
  carry?: LoopCarry;
}

const RECENT_BATCHES = 200;
// Well below Temporal's 10,240-event warning; each event batch costs ~3 history events.
const MAX_HISTORY_EVENTS = 4_000;

const rootMessage = (err: unknown): { type: string; message: string; expected: boolean } => {
  // The useful message is at the bottom of the chain: child workflow → activity → application failure.
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return {
    type: (cause as { type?: string }).type ?? (cause as Error).name ?? 'Error',
    message: cause instanceof Error ? cause.message : String(cause),
    // Expected reasons (too few labels yet) are BENIGN failures: an info line, not a warning.
    expected: cause instanceof ApplicationFailure && cause.category === ApplicationFailureCategory.BENIGN,
  };
};

/**
 * One long-lived workflow per Label Studio project. Signals from the webhook forwarder are
 * debounced into training rounds; operators' replays, promotions and rollbacks are queued; all
 * run one at a time as child workflows.
 */
export async function projectLoop(input: ProjectLoopArgs): Promise<never> {
  const { projectId } = input;
  const { loadProject, markRoundFailed } = proxyActivities<Activities>(onQueue(SHORT_IO, 'io'));
  let settings: LoopSettings = { ...DEFAULT_DEBOUNCE, mode: 'continuous', ...input.settings };
  const s: LoopCarry = input.carry ?? {
    pendingAnnotations: 0,
    pendingTasks: 0,
    firstPendingAt: null,
    lastEventAt: null,
    trainingRequested: false,
    requestTrigger: null,
    overrides: null,
    followUpDue: false,
    roundsStarted: 0,
    championVersion: null,
    lastRound: null,
    lastError: null,
    lastErrorRound: null,
    queue: [],
    recentBatchIds: [],
  };
  let currentRound: number | null = null;
  let settingsVersion = 0;
  const nextRoundAt = () => dueAt(s, settings);

  const notePending = () => {
    const now = Date.now();
    s.firstPendingAt ??= now;
    s.lastEventAt = now;
    if (currentRound !== null) s.followUpDue = true;
  };

  /** The loop's line in the Web UI: what it is doing, and what it waits for. */
  const showDetails = () => {
    const next = nextRoundAt();
    const phase = currentRound !== null ? `**training round ${currentRound}**` : next !== null ? 'waiting for the quiet period' : 'idle';
    setCurrentDetails(
      [
        `${phase} · champion \`${s.championVersion ?? 'none yet'}\` · mode ${settings.mode}`,
        `${s.pendingAnnotations} label change(s) pending · ${s.roundsStarted} round(s) so far${s.queue.length ? ` · ${s.queue.length} operator request(s) queued` : ''}`,
        s.lastError ? `last failure (round ${s.lastErrorRound}): ${s.lastError}` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
  };

  const setChampion = (version: string | null) => {
    if (version && version !== s.championVersion) {
      s.championVersion = version;
      upsertSearchAttributes([{ key: championVersionKey, value: version }]);
    }
  };

  /** A round ended: from executeChild, or by signal (also a run an operator reset by hand). */
  const noteFinished = (f: RoundFinished) => {
    setChampion(f.championVersion);
    if (f.result && f.round >= (s.lastRound?.round ?? 0)) s.lastRound = f.result;
    if (f.error === null && (s.lastErrorRound === null || f.round >= s.lastErrorRound)) {
      s.lastError = null;
      s.lastErrorRound = null;
    }
    if (f.error !== null && f.round >= (s.lastRound?.round ?? 0)) {
      s.lastError = f.error;
      s.lastErrorRound = f.round;
    }
  };

  setHandler(eventsRecordedSignal, (batch) => {
    if (s.recentBatchIds.includes(batch.batchId)) return;
    s.recentBatchIds.push(batch.batchId);
    if (s.recentBatchIds.length > RECENT_BATCHES) s.recentBatchIds.shift();
    s.pendingTasks += batch.taskChanges;
    if (batch.trainingRequested) {
      s.trainingRequested = true;
      s.requestTrigger ??= 'requested';
    }
    if (batch.annotationChanges > 0 || batch.trainingRequested) {
      s.pendingAnnotations += batch.annotationChanges;
      notePending();
    }
  });
  setHandler(requestRoundSignal, ({ overrides, trigger, skipIfBusy, reason }) => {
    // A schedule's request while a round runs (or one is already due) is dropped, not queued:
    // scheduled batches never pile up behind a long round.
    if (skipIfBusy && (currentRound !== null || s.trainingRequested)) {
      log.info('round request skipped: a round is running or already requested', { projectId, reason });
      return;
    }
    s.trainingRequested = true;
    s.requestTrigger = trigger ?? 'requested';
    if (overrides) s.overrides = overrides;
    notePending();
  });
  setHandler(replayRoundSignal, (request) => {
    s.queue.push({ kind: 'replay', request });
  });
  setHandler(setChampionSignal, (request) => {
    s.queue.push({ kind: 'champion', request });
  });
  setHandler(updateSettingsSignal, (patch) => {
    settings = { ...settings, ...patch };
    settingsVersion++;
  });
  setHandler(roundFinishedSignal, noteFinished);
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
      lastErrorRound: s.lastErrorRound,
      nextRoundAt: nextRoundAt(),
      settings,
      queued: s.queue.map((q) => (q.kind === 'replay' ? `replay of round ${q.request.round}` : `${q.request.action} ${q.request.version ?? ''}`.trim())),
    }),
  );

  if (!input.carry) {
    // A fresh loop for a project that already has a champion or stored settings (e.g. after the
    // workflow was terminated) starts from them.
    const project = await loadProject({ projectId });
    s.championVersion = project.championVersion;
    s.roundsStarted = Math.max(s.roundsStarted, project.lastRound);
    settings = { ...settings, ...project.settings };
  }
  upsertSearchAttributes([{ key: projectIdKey, value: projectId }, ...(s.championVersion ? [{ key: championVersionKey, value: s.championVersion }] : [])]);

  const continueAsNewDue = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (input.historyLimit ?? MAX_HISTORY_EVENTS);
  while (!continueAsNewDue()) {
    showDetails();
    const queued = s.queue.shift();
    if (queued) {
      await runQueued(queued);
      continue;
    }
    const due = nextRoundAt();
    if (due !== null && due <= Date.now()) {
      await runTrainingRound();
      continue;
    }
    // Wake early only when a round became due sooner (a request, the first pending event), an
    // operator queued something, or the settings changed; see policies/debounce.ts.
    const seenSettings = settingsVersion;
    await condition(
      () => s.queue.length > 0 || settingsVersion !== seenSettings || dueSooner(due, nextRoundAt()) || continueAsNewDue(),
      due === null ? undefined : due - Date.now(),
    );
  }

  await condition(allHandlersFinished);
  return continueAsNew<typeof projectLoop>({ projectId, settings, carry: s, historyLimit: input.historyLimit });

  async function runTrainingRound(): Promise<void> {
    const trigger: RoundTrigger = s.trainingRequested ? (s.requestTrigger ?? 'requested') : roundTrigger(s, settings);
    const overrides = s.overrides ?? undefined;
    s.pendingAnnotations = 0;
    s.pendingTasks = 0;
    s.firstPendingAt = null;
    s.lastEventAt = null;
    s.trainingRequested = false;
    s.requestTrigger = null;
    s.overrides = null;
    s.followUpDue = false;
    await runRound({ trigger, overrides });
  }

  async function runQueued(op: QueuedOperation): Promise<void> {
    if (op.kind === 'replay') {
      await runRound({ trigger: 'replay', replay: { of: op.request.round, fresh: op.request.fresh } });
    } else {
      await runRound({ trigger: op.request.action, champion: op.request });
    }
  }

  async function runRound(spec: Omit<RoundInput, 'projectId' | 'round'>): Promise<void> {
    const round = s.roundsStarted + 1;
    s.roundsStarted = round;
    currentRound = round;
    showDetails();
    const what =
      spec.champion !== undefined
        ? `${spec.champion.action}${spec.champion.version ? ` ${spec.champion.version}` : ''} by ${spec.champion.actor}`
        : spec.replay
          ? `replay of round ${spec.replay.of}${spec.replay.fresh ? ' (fresh snapshot)' : ' (same snapshot and seed)'}`
          : `training, trigger: ${spec.trigger}`;
    try {
      const result = await executeChild(trainingRound, {
        workflowId: roundWorkflowId(projectId, round),
        args: [{ projectId, round, ...spec }],
        // A round in flight finishes even if its loop is terminated by an operator.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `Project ${projectId} · round ${round} · ${what}`,
        staticDetails: [
          `**Round ${round}** of Label Studio project **${projectId}**: ${what}.`,
          spec.overrides ? `Training overrides: \`${JSON.stringify(spec.overrides)}\`.` : '',
          spec.champion ? `Reason: ${spec.champion.reason}` : '',
          'Steps: reconcile → export → train → evaluate → promote → predict → push. Current details show the running step.',
        ]
          .filter(Boolean)
          .join('\n\n'),
        typedSearchAttributes: [
          { key: projectIdKey, value: projectId },
          { key: roundNumberKey, value: round },
          ...(spec.replay ? [{ key: replayOfKey, value: roundWorkflowId(projectId, spec.replay.of) }] : []),
        ],
        memo: { projectId, round, trigger: spec.trigger, ...(spec.replay ? { replayOf: spec.replay.of } : {}) },
      });
      noteFinished({ round, result, error: null, championVersion: result.championVersion });
    } catch (err) {
      // A failed round (e.g. too few labels yet) must not end the loop: record it and wait for
      // more events. The round's own history in the Web UI has the details.
      const { type, message, expected } = rootMessage(err);
      noteFinished({ round, result: null, error: message, championVersion: null });
      // A round terminated or timed out could not close its own row.
      await markRoundFailed({ projectId, round, error: { type, message } });
      (expected ? log.info : log.warn)('round failed', { projectId, round, error: message });
    } finally {
      currentRound = null;
    }
  }
}
