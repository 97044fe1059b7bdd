/**
 * The contract between Label Loop's parts and Temporal: workflow ids, signals, queries, search
 * attributes and the shapes that cross the workflow boundary. Workflows, activities, the API and
 * the CLI import this module; nothing outside the worker's bundle imports workflow code.
 *
 * Only ids, counts and metrics cross the boundary (Temporal payloads stay small and carry no task
 * text or secrets): datasets, weights and predictions live in PostgreSQL.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { EvaluationMetrics } from '../model/metrics.js';

export type { EvaluationMetrics };

/** Workflow type names, as registered by the worker (camelCase, like the functions). */
export const LOOP_WORKFLOW = 'projectLoop';
export const ROUND_WORKFLOW = 'trainingRound';
/** Started by a project's Temporal Schedules: asks the loop for a round (a no-op while one runs). */
export const SCHEDULED_ROUND_WORKFLOW = 'scheduledRound';

/**
 * The three task queues of a deployment. Workflows (loops, rounds, schedules' starters) poll
 * TEMPORAL_TASK_QUEUE itself; their activities go to two queues derived from it, so a long
 * training never holds up a push: `compute` (train, evaluate, predict: CPU-bound, one at a
 * time per process) and `io` (Label Studio, exports, book-keeping: mostly waiting, many at once).
 * Workflow code derives the names from its own queue (deterministic: workflowInfo().taskQueue),
 * worker processes from the configuration; both through this one function.
 */
export const WORKER_QUEUE_ROLES = ['workflows', 'compute', 'io'] as const;
export type WorkerQueueRole = (typeof WORKER_QUEUE_ROLES)[number];
export type ActivityQueueRole = Exclude<WorkerQueueRole, 'workflows'>;
export const activityTaskQueue = (workflowQueue: string, role: ActivityQueueRole) => `${workflowQueue}-${role}`;
/** The queue a worker of `role` polls, for a deployment whose workflows use `workflowQueue`. */
export const taskQueueOf = (workflowQueue: string, role: WorkerQueueRole) => (role === 'workflows' ? workflowQueue : activityTaskQueue(workflowQueue, role));

/** Readable ids an operator can type into the Web UI. */
export const loopWorkflowId = (projectId: number) => `label-loop-project-${projectId}`;
export const roundWorkflowId = (projectId: number, round: number) => `label-loop-project-${projectId}-round-${round}`;
/** Schedule ids are readable too: `label-loop-project-<id>-<name>` (the UI's Schedules page lists them). */
export const scheduleIdOf = (projectId: number, name: string) => `label-loop-project-${projectId}-${name}`;
export const schedulePrefix = (projectId: number) => `label-loop-project-${projectId}-`;

/** Custom search attributes, registered on whatever Temporal server Label Loop uses (infra/temporal.ts). */
export const projectIdKey = defineSearchAttributeKey('LabelLoopProjectId', SearchAttributeType.INT);
export const championVersionKey = defineSearchAttributeKey('LabelLoopChampionVersion', SearchAttributeType.KEYWORD);
/** promoted | rejected | failed | replayed (a replay of a failed round that completed). */
export const roundOutcomeKey = defineSearchAttributeKey('LabelLoopRoundOutcome', SearchAttributeType.KEYWORD);
export const roundNumberKey = defineSearchAttributeKey('LabelLoopRound', SearchAttributeType.INT);
/** Whether the round's candidate became champion (also for replays, whose outcome is `replayed`). */
export const promotedKey = defineSearchAttributeKey('LabelLoopPromoted', SearchAttributeType.BOOL);
/** On a replay: the workflow id of the failed round it replays. */
export const replayOfKey = defineSearchAttributeKey('LabelLoopReplayOf', SearchAttributeType.KEYWORD);
// SQL visibility pre-allocates a few columns per type (e.g. 3 Int, 3 Bool, 10 Keyword): keep this small.
export const SEARCH_ATTRIBUTES = {
  LabelLoopProjectId: 'Int',
  LabelLoopRound: 'Int',
  LabelLoopChampionVersion: 'Keyword',
  LabelLoopRoundOutcome: 'Keyword',
  LabelLoopPromoted: 'Bool',
  LabelLoopReplayOf: 'Keyword',
} as const;

export type RoundOutcome = 'promoted' | 'rejected' | 'failed' | 'replayed';
export type ProjectMode = 'continuous' | 'batch';

/** When a project's loop starts a round. Times in ms. */
export interface DebounceSettings {
  /** New annotation changes needed before the quiet period can trigger a round. */
  minAnnotations: number;
  /** A round starts once no event has arrived for this long (and minAnnotations is met). */
  quietPeriodMs: number;
  /** A round starts at the latest this long after the first pending event, whatever the count. */
  maxWaitMs: number;
}

/** The one default; configuration (worker/config.ts) and the workflow both start from it. */
export const DEFAULT_DEBOUNCE: DebounceSettings = { minAnnotations: 10, quietPeriodMs: 5_000, maxWaitMs: 120_000 };

/**
 * A loop's settings: the debounce, and the mode. In `batch` mode annotation events never start a
 * round: only a request (the API, START_TRAINING, a schedule) does (the Community edition's
 * batched active learning: label for a while, train, label again).
 */
export interface LoopSettings extends DebounceSettings {
  mode: ProjectMode;
}

/** Training knobs a round may override (from the API or an operator). */
export interface TrainOverrides {
  /** Most coordinate-descent passes (training stops earlier once converged). */
  epochs?: number;
  /** Convergence tolerance; 0 runs every epoch (e.g. a deliberately long training). */
  tolerance?: number;
  /** SVM cost. */
  C?: number;
  seed?: number;
}

/** Sent by the webhook forwarder for each batch of recorded events; batchId makes it idempotent. */
export interface EventsRecorded {
  batchId: string;
  annotationChanges: number;
  taskChanges: number;
  trainingRequested: boolean;
}

export interface RoundRequest {
  reason: string;
  overrides?: TrainOverrides;
  /** Who asked: 'requested' (API, START_TRAINING) or 'schedule'. */
  trigger?: 'requested' | 'schedule';
  /** A scheduled round while one runs (or is due) is dropped: never two rounds at once, no pile-up. */
  skipIfBusy?: boolean;
}

/** Re-run a failed round: from its snapshot and seed (default, bit-for-bit) or a fresh snapshot. */
export interface ReplayRequest {
  round: number;
  fresh: boolean;
  reason?: string;
}

/** Make a chosen version champion (`promote`) or go back to the previous one (`rollback`). */
export interface ChampionRequest {
  action: 'promote' | 'rollback';
  /** Required for promote; a rollback finds the previous champion itself. */
  version?: string;
  actor: string;
  reason: string;
}

/** Live progress of a round's long step (an epoch, a chunk, a page), also shown in the Web UI. */
export interface RoundProgress {
  step: RoundStep;
  done: number;
  total: number;
  unit: string;
  /** One human line, e.g. "epoch 4 of 20, loss 0.412" or "chunk 3 of 20, 8,120 tasks/s". */
  detail: string;
}

export const ROUND_STEPS = ['reconcile', 'export', 'train', 'evaluate', 'promote', 'predict', 'push'] as const;
export type RoundStep = (typeof ROUND_STEPS)[number];

export const eventsRecordedSignal = defineSignal<[EventsRecorded]>('eventsRecorded');
/** Start a round as soon as no round is running (operators, the API, START_TRAINING). */
export const requestRoundSignal = defineSignal<[RoundRequest]>('requestRound');
export const updateSettingsSignal = defineSignal<[Partial<LoopSettings>]>('updateSettings');
export const replayRoundSignal = defineSignal<[ReplayRequest]>('replayRound');
export const setChampionSignal = defineSignal<[ChampionRequest]>('setChampion');
/** Sent by every round when it ends (also a run an operator reset by hand), so the loop's status stays true. */
export const roundFinishedSignal = defineSignal<[RoundFinished]>('roundFinished');
/** Sent by activities to their round workflow: shown as the round's current details in the Web UI. */
export const roundProgressSignal = defineSignal<[RoundProgress]>('roundProgress');

export interface RoundFinished {
  round: number;
  result: RoundResult | null;
  /** Root cause of a failed round. */
  error: string | null;
  championVersion: string | null;
}

export interface ProjectLoopInput {
  projectId: number;
  settings?: Partial<LoopSettings>;
  /** Continue-as-new after this many history events (default 4,000). */
  historyLimit?: number;
}

export type RoundTrigger = 'annotations' | 'max-wait' | 'requested' | 'follow-up' | 'schedule' | 'replay' | 'promote' | 'rollback';

export interface RoundInput {
  projectId: number;
  round: number;
  trigger: RoundTrigger;
  overrides?: TrainOverrides;
  /** A replay: the failed round it re-runs, and whether it takes a fresh snapshot. */
  replay?: { of: number; fresh: boolean };
  /** A champion change chosen by an operator instead of a training run. */
  champion?: ChampionRequest;
}

export interface RoundResult {
  round: number;
  trigger: RoundTrigger;
  snapshotId: string;
  /** Labels the candidate was trained on (all of the snapshot's). */
  trainCount: number;
  /** Of which audit items (labels of tasks served at random), which its evaluation scores. */
  auditCount: number;
  modelVersion: string;
  promoted: boolean;
  reason: string;
  championVersion: string | null;
  /** The candidate's cross-validated metrics on the audit items (n = how many). */
  candidateMetrics: EvaluationMetrics;
  /** The champion's on the same items, when it could be compared. */
  championMetrics: EvaluationMetrics | null;
  predicted: number;
  pushed: number;
}

export interface LoopStatus {
  projectId: number;
  phase: 'idle' | 'waiting' | 'training';
  pendingAnnotations: number;
  pendingTasks: number;
  trainingRequested: boolean;
  followUpDue: boolean;
  currentRound: number | null;
  roundsStarted: number;
  championVersion: string | null;
  lastRound: RoundResult | null;
  lastError: string | null;
  /** Round that failed with lastError. */
  lastErrorRound: number | null;
  nextRoundAt: number | null;
  settings: LoopSettings;
  /** Operator requests (replays, promotions, rollbacks) waiting for the current round to end. */
  queued: string[];
}

export const loopStatusQuery = defineQuery<LoopStatus>('loopStatus');
