/** Schemas shared by the routes (TypeBox → JSON Schema, validated by fastify's Ajv). */
import { Type, type TSchema } from 'typebox';

export const ErrorReply = Type.Object({ error: Type.String() });

/** The error replies every route may give, for its response schema. */
export const errorReplies = { '4xx': ErrorReply, '5xx': ErrorReply };

/**
 * A Label Studio id in a path or query: digits only, range-checked by `positiveId` (a 20-digit
 * string passes the pattern but not the range). JSON Schema cannot express "≤ 2^53 − 1" for a string.
 */
export const IdString = Type.String({ pattern: '^[0-9]{1,20}$', description: 'a positive integer id' });

export const ProjectParams = Type.Object({ id: IdString });

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Who asked, and why: every operator action is recorded with both. */
export const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'a reason (1 to 500 characters)' });

export const Metrics = Type.Object({
  n: Type.Integer(),
  accuracy: Type.Number(),
  macroF1: Type.Number(),
  perClassF1: Type.Record(Type.String(), Type.Number()),
  logLoss: Type.Number(),
  /** Expected calibration error of the confidences (15 bins), when evaluated. */
  ece: Type.Optional(Type.Number()),
});

const Interval = Type.Object({ value: Type.Number(), low: Type.Number(), high: Type.Number() });

/** A model's quality estimate (activities/evaluation.ts Estimate). */
export const Estimate = Type.Object({
  source: Type.String({ description: "audit (cross-validated on the audit items), cv-all (on every label: too few audit items yet) or none" }),
  n: Type.Integer(),
  folds: Type.Integer(),
  accuracy: Interval,
  macroF1: Interval,
  ece: Type.Number(),
});

/**
 * The promotion gate's decision and evidence (policies/promotion.ts Evidence). Rounds decided by
 * an operator, or before the gate recorded evidence, carry the reason only.
 */
export const Evidence = Type.Object({
  reason: Type.String(),
  decision: Type.Optional(Type.String()),
  rule: Type.Optional(Type.String()),
  metric: Type.Optional(Type.String()),
  n: Type.Optional(Type.Integer()),
  delta: Type.Optional(Type.Number()),
  low: Type.Optional(Type.Number()),
  high: Type.Optional(Type.Number()),
  confidence: Type.Optional(Type.Number()),
  test: Type.Optional(Type.String()),
  pValue: Type.Optional(Type.Number()),
  candidateOnly: Type.Optional(Type.Integer()),
  incumbentOnly: Type.Optional(Type.Integer()),
  incumbent: Type.Optional(Type.String()),
});

/** Live progress of a running round's step (contract RoundProgress); total 0 when unknown (pages, pushes). */
export const Progress = Type.Object({
  step: Type.String(),
  done: Type.Number(),
  total: Type.Number(),
  unit: Type.String(),
  detail: Type.String(),
});

export const ModelReply = Type.Object({
  projectId: Type.Integer(),
  version: Type.String(),
  snapshotId: Type.String(),
  status: Type.String(),
  hasWeights: Type.Boolean(),
  trainOptions: Type.Record(Type.String(), Type.Unknown()),
  backend: Nullable(Type.String()),
  trainMs: Nullable(Type.Integer()),
  metrics: Nullable(Metrics),
  championVersion: Nullable(Type.String()),
  championMetrics: Nullable(Metrics),
  baselineMetrics: Nullable(Metrics),
  promoted: Nullable(Type.Boolean()),
  decisionReason: Nullable(Type.String()),
  estimate: Nullable(Estimate),
  evidence: Nullable(Evidence),
  createdAt: Type.String(),
});

export const RoundReply = Type.Object({
  projectId: Type.Integer(),
  round: Type.Integer(),
  workflowId: Type.String(),
  runId: Type.String(),
  trigger: Type.String(),
  outcome: Type.String(),
  error: Nullable(Type.Object({ type: Type.String(), message: Type.String() })),
  modelVersion: Nullable(Type.String()),
  snapshotId: Nullable(Type.String()),
  trainCount: Nullable(Type.Integer()),
  replayOf: Nullable(Type.Integer()),
  replayedBy: Nullable(Type.Integer()),
  evidence: Nullable(Evidence),
  steps: Type.Record(Type.String(), Type.Object({ ms: Type.Number() })),
  progress: Nullable(Progress),
  startedAt: Type.String(),
  finishedAt: Nullable(Type.String()),
});

export const ScheduleReply = Type.Object({
  id: Type.String(),
  project: Type.Integer(),
  spec: Type.Object({
    every: Type.Optional(Type.String()),
    cron: Type.Optional(Type.String()),
    timezone: Type.Optional(Type.String()),
    jitter: Type.Optional(Type.String()),
  }),
  paused: Type.Boolean(),
  note: Nullable(Type.String()),
  nextRuns: Type.Array(Type.String()),
  recentRuns: Type.Array(Type.String()),
});
