import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Workflow types and ids: camelCase types, readable ids an operator can type into the Web UI. */
export const loopWorkflowId = (projectId: number) => `label-loop-project-${projectId}`;
export const roundWorkflowId = (projectId: number, round: number) => `label-loop-project-${projectId}-round-${round}`;

/** Custom search attributes, registered with the dev server at start (see infra/temporal.ts). */
export const projectIdKey = defineSearchAttributeKey('LabelLoopProjectId', SearchAttributeType.INT);
export const championVersionKey = defineSearchAttributeKey('LabelLoopChampionVersion', SearchAttributeType.KEYWORD);
export const roundOutcomeKey = defineSearchAttributeKey('LabelLoopRoundOutcome', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = {
  LabelLoopProjectId: 'Int',
  LabelLoopChampionVersion: 'Keyword',
  LabelLoopRoundOutcome: 'Keyword',
} as const;

/** When a project's loop starts a round. Times in ms. */
export interface DebounceSettings {
  /** New annotation changes needed before the quiet period can trigger a round. */
  minAnnotations: number;
  /** A round starts once no event has arrived for this long (and minAnnotations is met). */
  quietPeriodMs: number;
  /** A round starts at the latest this long after the first pending event, whatever the count. */
  maxWaitMs: number;
}

export const DEFAULT_DEBOUNCE: DebounceSettings = { minAnnotations: 10, quietPeriodMs: 5_000, maxWaitMs: 120_000 };

/** Training knobs a round may override (e.g. from START_TRAINING via the API). */
export interface TrainOverrides {
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  l2?: number;
  seed?: number;
}

/** Sent by the webhook forwarder for each batch of recorded events; batchId makes it idempotent. */
export interface EventsRecorded {
  batchId: string;
  annotationChanges: number;
  taskChanges: number;
  trainingRequested: boolean;
}

export const eventsRecordedSignal = defineSignal<[EventsRecorded]>('eventsRecorded');
/** Start a round as soon as no round is running (operators, the API, START_TRAINING). */
export const requestRoundSignal = defineSignal<[{ reason: string; overrides?: TrainOverrides }]>('requestRound');
export const updateSettingsSignal = defineSignal<[Partial<DebounceSettings>]>('updateSettings');

export interface Metrics {
  n: number;
  accuracy: number;
  macroF1: number;
  perClassF1: Record<string, number>;
  logLoss: number;
}

export interface RoundInput {
  projectId: number;
  round: number;
  trigger: string;
  overrides?: TrainOverrides;
}

export interface RoundResult {
  round: number;
  snapshotId: string;
  trainCount: number;
  heldOutCount: number;
  modelVersion: string;
  promoted: boolean;
  reason: string;
  championVersion: string | null;
  candidateMetrics: Metrics;
  championMetrics: Metrics | null;
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
  nextRoundAt: number | null;
  settings: DebounceSettings;
}

export const loopStatusQuery = defineQuery<LoopStatus>('loopStatus');
