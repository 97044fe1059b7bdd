/**
 * The serving queue's rows: where each unlabelled task's prediction sits in the order Label
 * Studio serves (predictions.queue_score, lower = sooner; policies/sampling.ts decides the values).
 * Audit tasks are those whose draw (`tasks.audit_draw` = `label_loop_draw(project, task, 1)`) is below the share.
 */
import type { Db, Queryable } from './db.js';

/** Task `t` has a live, non-cancelled annotation. */
const TASK_LABELLED = 'EXISTS (SELECT 1 FROM annotations a WHERE a.task_id = t.id AND NOT a.deleted AND NOT a.was_cancelled)';

const UNLABELLED = 'NOT EXISTS (SELECT 1 FROM annotations a WHERE a.task_id = p.task_id AND NOT a.deleted AND NOT a.was_cancelled)';

/**
 * Gives the version's not-yet-ranked predictions of non-audit tasks their strategy score, and
 * labelled tasks the end of the queue. `expression` is one of the fixed SQL expressions of
 * STRATEGY_SQL (never user input). Returns how many rows were ranked.
 */
export async function rankStrategyTasks(q: Queryable, projectId: number, version: string, share: number, strategy: keyof typeof STRATEGY_SQL, maxEntropy: number): Promise<number> {
  await q.query(
    `UPDATE predictions p SET queue_score = 1 WHERE p.project_id = $1 AND p.model_version = $2 AND p.queue_score IS NULL AND NOT ${UNLABELLED}`,
    [projectId, version],
  );
  const res = await q.query(
    `UPDATE predictions p SET queue_score = LEAST(1, GREATEST(0, ${STRATEGY_SQL[strategy]}))
      WHERE p.project_id = $1 AND p.model_version = $2 AND p.queue_score IS NULL
        AND label_loop_draw(p.project_id, p.task_id, 1) >= $3 AND ${UNLABELLED}`,
    strategy === 'entropy' ? [projectId, version, share, maxEntropy] : [projectId, version, share],
  );
  return res.rowCount ?? 0;
}

/** The strategies' absolute scores in SQL ($4 = the maximum entropy). */
export const STRATEGY_SQL = {
  margin: 'p.margin',
  diverse_margin: 'p.margin',
  least_confidence: 'p.score',
  entropy: 'CASE WHEN $4::float8 > 0 THEN 1 - p.entropy / $4::float8 ELSE 1 END',
  random: 'label_loop_draw(p.project_id, p.task_id, 2)',
} as const;

/** Queue scores of the version's unlabelled non-audit tasks, ascending: the distribution audit tasks are dealt into. */
export async function strategyScoreDistribution(q: Queryable, projectId: number, version: string, share: number): Promise<Float64Array> {
  const { rows } = await q.query<{ s: number }>(
    `SELECT p.queue_score AS s FROM predictions p
      WHERE p.project_id = $1 AND p.model_version = $2 AND p.queue_score IS NOT NULL
        AND label_loop_draw(p.project_id, p.task_id, 1) >= $3 AND ${UNLABELLED}
      ORDER BY p.queue_score`,
    [projectId, version, share],
  );
  return Float64Array.from(rows, (r) => r.s);
}

/** Unranked, unlabelled audit tasks of the version, with their order draw. */
export async function unrankedAuditTasks(q: Queryable, projectId: number, version: string, share: number): Promise<{ taskId: number; draw: number }[]> {
  const { rows } = await q.query<{ task_id: number; d: number }>(
    `SELECT p.task_id, label_loop_draw(p.project_id, p.task_id, 2) AS d FROM predictions p
      WHERE p.project_id = $1 AND p.model_version = $2 AND p.queue_score IS NULL
        AND label_loop_draw(p.project_id, p.task_id, 1) < $3 AND ${UNLABELLED}`,
    [projectId, version, share],
  );
  return rows.map((r) => ({ taskId: r.task_id, draw: r.d }));
}

/** The most uncertain non-audit tasks not yet pushed (by margin), with their data: a diverse batch is chosen among them. */
export async function mostUncertainUnpushed(q: Queryable, projectId: number, version: string, share: number, limit: number): Promise<{ taskId: number; data: unknown; margin: number; probabilities: number[] }[]> {
  const { rows } = await q.query(
    `SELECT p.task_id, t.data, p.margin, p.probabilities FROM predictions p JOIN tasks t ON t.id = p.task_id
      WHERE p.project_id = $1 AND p.model_version = $2 AND p.pushed_at IS NULL
        AND label_loop_draw(p.project_id, p.task_id, 1) >= $3 AND ${UNLABELLED}
      ORDER BY p.margin, p.task_id LIMIT $4`,
    [projectId, version, share, limit],
  );
  return rows.map((r) => ({ taskId: r.task_id, data: r.data, margin: r.margin, probabilities: r.probabilities }));
}

/** Sets queue scores, in one statement per call. */
export async function setQueueScores(q: Queryable, version: string, scores: { taskId: number; score: number }[]): Promise<void> {
  if (scores.length === 0) return;
  await q.query(
    `UPDATE predictions p SET queue_score = x.score FROM unnest($2::bigint[], $3::float8[]) AS x(task_id, score)
      WHERE p.model_version = $1 AND p.task_id = x.task_id`,
    [version, scores.map((s) => s.taskId), scores.map((s) => s.score)],
  );
}

/** A task as the sampling endpoint lists it. */
export interface NextTask {
  taskId: number;
  data: unknown;
  modelVersion: string | null;
  labels: string[] | null;
  score: number | null;
  leastConfidence: number | null;
  margin: number | null;
  entropy: number | null;
  /** Served as part of the audit stream (at random). */
  audit: boolean;
}

const toNext = (r: Record<string, any>, version: string | null): NextTask => ({
  taskId: r.id,
  data: r.data,
  modelVersion: r.labels ? version : null,
  labels: r.labels ?? null,
  score: r.score ?? null,
  leastConfidence: r.least_confidence ?? null,
  margin: r.margin ?? null,
  entropy: r.entropy ?? null,
  audit: r.audit === true,
});

/**
 * The project's unlabelled tasks in two queues: non-audit ones ordered by `orderSql` (a fixed
 * SQL expression over the prediction `p`, never user input; tasks without a prediction of
 * `version` last, by id) and audit ones in their random order. The caller interleaves them.
 */
export async function unlabelledQueues(
  db: Db,
  projectId: number,
  version: string | null,
  share: number,
  orderSql: string,
  limit: number,
): Promise<{ strategy: NextTask[]; audit: NextTask[] }> {
  const select = (audit: boolean, order: string) =>
    db.query(
      `SELECT t.id, t.data, p.labels, p.score, p.least_confidence, p.margin, p.entropy, ${audit} AS audit
         FROM tasks t LEFT JOIN predictions p ON p.task_id = t.id AND p.model_version = $2
        WHERE t.project_id = $1 AND NOT t.deleted
          AND NOT ${TASK_LABELLED}
          AND (t.audit_draw < $3) = ${audit}
        ORDER BY ${order} LIMIT $4`,
      [projectId, version ?? '', share, limit],
    );
  const [strategy, audit] = await Promise.all([
    select(false, `(p.task_id IS NULL), ${orderSql}, t.id`),
    select(true, 't.order_draw, t.id'),
  ]);
  return { strategy: strategy.rows.map((r) => toNext(r, version)), audit: audit.rows.map((r) => toNext(r, version)) };
}

/** Up to `limit` unlabelled tasks (a fixed pseudo-random sample), for ordering before any model exists. */
export async function unlabelledSample(db: Db, projectId: number, limit: number): Promise<{ taskId: number; data: unknown }[]> {
  const { rows } = await db.query(
    `SELECT t.id, t.data FROM tasks t
      WHERE t.project_id = $1 AND NOT t.deleted
        AND NOT ${TASK_LABELLED}
      ORDER BY t.order_draw, t.id LIMIT $2`,
    [projectId, limit],
  );
  return rows.map((r) => ({ taskId: r.id, data: r.data }));
}

/** The project's labelled tasks and how many of them are audit items (the interleaving's state). */
export async function labelledCounts(db: Db, projectId: number, share: number): Promise<{ labelled: number; audit: number }> {
  const { rows } = await db.query<{ labelled: number; audit: number }>(
    `SELECT count(*)::int AS labelled, count(*) FILTER (WHERE t.audit_draw < $2)::int AS audit
       FROM tasks t
      WHERE t.project_id = $1 AND NOT t.deleted
        AND ${TASK_LABELLED}`,
    [projectId, share],
  );
  return rows[0] ?? { labelled: 0, audit: 0 };
}

/** Which of these tasks are still live and unlabelled. */
export async function stillUnlabelled(db: Db, taskIds: number[]): Promise<Set<number>> {
  if (taskIds.length === 0) return new Set();
  const { rows } = await db.query<{ id: string }>(
    `SELECT t.id FROM tasks t WHERE t.id = ANY($1::bigint[]) AND NOT t.deleted
        AND NOT ${TASK_LABELLED}`,
    [taskIds],
  );
  return new Set(rows.map((r) => Number(r.id)));
}
