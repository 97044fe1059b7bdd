import type { RoundProgress, RoundStep, RoundTrigger } from '../contract/index.js';
import type { Db, Queryable } from './db.js';
import { withTransaction } from './db.js';

/** `replayed`: a failed round that a later replay completed (the replay has its own row). */
export type RoundRowOutcome = 'running' | 'promoted' | 'rejected' | 'failed' | 'replayed';

/** What a decided round records of its decision (workflows/trainingRound.ts): the promotion gate's reason. */
export interface RoundEvidence {
  reason: string;
}

/**
 * A round as operators see it: the API's rounds routes reply with it as it is (GET
 * /api/projects/:id/rounds), and the CLI and the dashboard read it; the metrics read its table.
 */
export interface RoundRow {
  projectId: number;
  round: number;
  workflowId: string;
  runId: string;
  trigger: RoundTrigger;
  outcome: RoundRowOutcome;
  /** The root cause of a failed round. */
  error: { type: string; message: string } | null;
  modelVersion: string | null;
  snapshotId: string | null;
  trainCount: number | null;
  replayOf: number | null;
  replayedBy: number | null;
  evidence: RoundEvidence | null;
  /** Duration of each step the round finished, written when it ends ({} while it runs). */
  steps: Partial<Record<RoundStep, { ms: number }>>;
  /** Live progress of the running step; null once the round has ended. */
  progress: RoundProgress | null;
  startedAt: string;
  finishedAt: string | null;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : String(v));

function toRow(r: Record<string, any>): RoundRow {
  return {
    projectId: r.project_id,
    round: r.round,
    workflowId: r.workflow_id,
    runId: r.run_id,
    trigger: r.trigger,
    outcome: r.outcome,
    error: r.error_message ? { type: r.error_type ?? 'Error', message: r.error_message } : null,
    modelVersion: r.model_version,
    snapshotId: r.snapshot_id,
    trainCount: r.train_count,
    replayOf: r.replay_of,
    replayedBy: r.replayed_by,
    evidence: r.evidence,
    steps: r.steps ?? {},
    progress: r.progress,
    startedAt: iso(r.started_at)!,
    finishedAt: iso(r.finished_at),
  };
}

/** A round started (or a run of it restarted by a reset): the row is (re)opened. */
export async function recordRoundStart(
  q: Queryable,
  r: { projectId: number; round: number; workflowId: string; runId: string; trigger: RoundTrigger; replayOf: number | null; overrides: object | null },
): Promise<void> {
  await q.query(
    `INSERT INTO rounds (project_id, round, workflow_id, run_id, trigger, replay_of, overrides)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (project_id, round) DO UPDATE SET run_id = excluded.run_id, outcome = 'running', error_type = NULL,
       error_message = NULL, progress = NULL, finished_at = NULL, started_at = CASE WHEN rounds.run_id = excluded.run_id THEN rounds.started_at ELSE now() END`,
    [r.projectId, r.round, r.workflowId, r.runId, r.trigger, r.replayOf, r.overrides ? JSON.stringify(r.overrides) : null],
  );
}

export interface RoundEnd {
  projectId: number;
  round: number;
  runId: string;
  outcome: 'promoted' | 'rejected' | 'failed';
  error?: { type: string; message: string } | null;
  modelVersion?: string | null;
  snapshotId?: string | null;
  trainCount?: number | null;
  evidence?: RoundEvidence | null;
  steps: Partial<Record<RoundStep, { ms: number }>>;
}

/**
 * A round ended. Only the run that owns the row may close it (a stale run of a round that was
 * reset by hand must not overwrite its successor). A completed replay marks the round it
 * replayed as `replayed`.
 */
export async function recordRoundEnd(db: Db, e: RoundEnd): Promise<void> {
  await withTransaction(db, async (c) => {
    const { rows } = await c.query(
      `UPDATE rounds SET outcome = $4, error_type = $5, error_message = $6, model_version = COALESCE($7, model_version),
         snapshot_id = COALESCE($8, snapshot_id), train_count = COALESCE($9, train_count), evidence = COALESCE($10, evidence),
         steps = $11, progress = NULL, finished_at = now()
       WHERE project_id = $1 AND round = $2 AND run_id = $3
       RETURNING replay_of`,
      [
        e.projectId,
        e.round,
        e.runId,
        e.outcome,
        e.error?.type ?? null,
        e.error?.message ?? null,
        e.modelVersion ?? null,
        e.snapshotId ?? null,
        e.trainCount ?? null,
        e.evidence ? JSON.stringify(e.evidence) : null,
        JSON.stringify(e.steps),
      ],
    );
    const replayOf = rows[0]?.replay_of;
    if (replayOf && e.outcome !== 'failed') {
      await c.query(`UPDATE rounds SET outcome = 'replayed', replayed_by = $3 WHERE project_id = $1 AND round = $2 AND outcome = 'failed'`, [
        e.projectId,
        replayOf,
        e.round,
      ]);
    }
  });
}

/**
 * A round whose workflow ended without closing its row (terminated, timed out): the loop records
 * the root cause it saw. A row the round closed itself is left as it is.
 */
export async function markRoundFailed(q: Queryable, projectId: number, round: number, error: { type: string; message: string }): Promise<void> {
  await q.query(
    `UPDATE rounds SET outcome = 'failed', error_type = $3, error_message = $4, progress = NULL, finished_at = now()
      WHERE project_id = $1 AND round = $2 AND outcome = 'running'`,
    [projectId, round, error.type, error.message],
  );
}

/** Live progress of a running round's step (overwritten, throttled by the caller). */
export async function recordRoundProgress(q: Queryable, projectId: number, round: number, progress: RoundProgress): Promise<void> {
  await q.query(`UPDATE rounds SET progress = $3 WHERE project_id = $1 AND round = $2 AND outcome = 'running'`, [projectId, round, JSON.stringify(progress)]);
}

export async function getRound(q: Queryable, projectId: number, round: number): Promise<RoundRow | undefined> {
  const { rows } = await q.query('SELECT * FROM rounds WHERE project_id = $1 AND round = $2', [projectId, round]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

/**
 * What a replay of `round` starts from: the snapshot its last run froze (round key =
 * `workflowId/runId`) and the training overrides it was asked for.
 */
export async function roundSource(q: Queryable, projectId: number, round: number): Promise<{ snapshotId: string | null; overrides: object | null } | undefined> {
  const { rows } = await q.query(
    `SELECT r.overrides, s.id AS snapshot_id FROM rounds r
       LEFT JOIN dataset_snapshots s ON s.project_id = r.project_id AND s.round_key = r.workflow_id || '/' || r.run_id
      WHERE r.project_id = $1 AND r.round = $2`,
    [projectId, round],
  );
  return rows[0] ? { snapshotId: rows[0].snapshot_id, overrides: rows[0].overrides } : undefined;
}

/** The highest round number a project has had (a loop started again continues after it). */
export async function lastRoundNumber(q: Queryable, projectId: number): Promise<number> {
  const { rows } = await q.query('SELECT coalesce(max(round), 0)::int AS n FROM rounds WHERE project_id = $1', [projectId]);
  return rows[0].n;
}

/** Newest first. */
export async function listRounds(q: Queryable, projectId: number, opts: { outcome?: string; limit: number }): Promise<RoundRow[]> {
  const { rows } = await q.query(
    `SELECT * FROM rounds WHERE project_id = $1 AND ($2::text IS NULL OR outcome = $2) ORDER BY round DESC LIMIT $3`,
    [projectId, opts.outcome ?? null, opts.limit],
  );
  return rows.map(toRow);
}

/** Rounds by outcome over every project, for metrics. */
export async function roundOutcomeCounts(q: Queryable): Promise<{ projectId: number; outcome: string; n: number }[]> {
  const { rows } = await q.query('SELECT project_id, outcome, count(*)::int AS n FROM rounds GROUP BY project_id, outcome');
  return rows.map((r) => ({ projectId: r.project_id, outcome: r.outcome, n: r.n }));
}

/** A decided round with its candidate's quality, for the learning curve (oldest first). */
export interface CurveRow {
  round: number;
  version: string;
  outcome: string;
  /** Labels the candidate was trained on. */
  trainCount: number;
  metrics: { n: number; accuracy: number; macroF1: number } | null;
  /** The evaluation's estimate with intervals (activities/evaluation.ts); null for models evaluated before it existed. */
  estimate: { source: string; n: number; accuracy: { value: number; low: number; high: number }; macroF1: { value: number; low: number; high: number } } | null;
}

export async function curveRows(q: Queryable, projectId: number): Promise<CurveRow[]> {
  const { rows } = await q.query(
    `SELECT r.round, CASE WHEN r.replay_of IS NOT NULL THEN 'replayed' ELSE r.outcome END AS outcome, m.version, s.train_count, m.metrics, m.estimate
       FROM rounds r JOIN models m ON m.project_id = r.project_id AND m.version = r.model_version
       JOIN dataset_snapshots s ON s.id = m.snapshot_id
      WHERE r.project_id = $1 AND r.outcome IN ('promoted', 'rejected', 'replayed') AND r.trigger NOT IN ('promote', 'rollback')
      ORDER BY r.round`,
    [projectId],
  );
  return rows.map((r) => ({ round: r.round, version: r.version, outcome: r.outcome, trainCount: r.train_count, metrics: r.metrics, estimate: r.estimate }));
}
