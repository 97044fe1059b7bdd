import { withTransaction, type Db, type Queryable } from './db.js';
import { arrayLiteral, copyField, copyRows } from './copy.js';

export interface PredictionRow {
  taskId: number;
  labels: string[];
  probabilities: number[];
  score: number;
  leastConfidence: number;
  margin: number;
  entropy: number;
}

/** A task still to predict: its id and Label Studio data. */
export interface TaskToPredict {
  id: number;
  data: unknown;
}

const LABELLED = 'EXISTS (SELECT 1 FROM annotations a WHERE a.task_id = t.id AND NOT a.deleted AND NOT a.was_cancelled)';
const UNPREDICTED = 'NOT EXISTS (SELECT 1 FROM predictions p WHERE p.task_id = t.id AND p.model_version = $2)';

/**
 * One keyset page of the project's live tasks without a prediction of `modelVersion`: unlabelled
 * tasks (annotators need those scores soonest) or labelled ones, by id, after `afterId`. Saved
 * pages drop out of this query, which is what lets a retried bulk prediction resume where the
 * last attempt stopped; paging by id keeps memory flat in the number of tasks.
 */
export async function tasksToPredictPage(
  db: Queryable,
  projectId: number,
  modelVersion: string,
  page: { labelled: boolean; afterId: number; limit: number },
): Promise<TaskToPredict[]> {
  const { rows } = await db.query<TaskToPredict>(
    `SELECT t.id, t.data FROM tasks t
      WHERE t.project_id = $1 AND NOT t.deleted AND t.id > $3 AND ${UNPREDICTED} AND ${page.labelled ? '' : 'NOT '}${LABELLED}
      ORDER BY t.id LIMIT $4`,
    [projectId, modelVersion, page.afterId, page.limit],
  );
  return rows;
}

/** How many live tasks of the project have no prediction of `modelVersion` (progress totals). */
export async function countTasksToPredict(db: Queryable, projectId: number, modelVersion: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM tasks t WHERE t.project_id = $1 AND NOT t.deleted AND ${UNPREDICTED}`,
    [projectId, modelVersion],
  );
  return rows[0].n;
}

const PREDICTION_COLUMNS = ['task_id', 'model_version', 'project_id', 'labels', 'probabilities', 'score', 'least_confidence', 'margin', 'entropy'];

/**
 * Idempotent: a task has at most one prediction per model version. Rows go in with COPY; a page
 * that another attempt already wrote (a retry racing a worker thought dead) fails COPY's unique
 * check and is written again with ON CONFLICT DO NOTHING.
 */
/** The smallest normal float4 (PostgreSQL `real`). */
const FLOAT4_MIN_NORMAL = 1.1754943508222875e-38;

export async function savePredictions(db: Db, projectId: number, modelVersion: string, predictions: PredictionRow[]): Promise<void> {
  if (predictions.length === 0) return;
  const rows = predictions.map((p) => [
    copyField(p.taskId),
    copyField(modelVersion),
    copyField(projectId),
    copyField(arrayLiteral(p.labels)),
    // The column is real[]: a probability below float4's normal range (a confident model's
    // 1e-76) would fail the whole COPY with "out of range for type real": flushed to 0.
    copyField(arrayLiteral(p.probabilities.map((x) => (Math.abs(x) < FLOAT4_MIN_NORMAL ? 0 : x)))),
    copyField(p.score),
    copyField(p.leastConfidence),
    copyField(p.margin),
    copyField(p.entropy),
  ]);
  try {
    await withTransaction(db, (client) => copyRows(client, 'predictions', PREDICTION_COLUMNS, rows));
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
    await withTransaction(db, async (client) => {
      await client.query('CREATE TEMP TABLE prediction_page (LIKE predictions INCLUDING DEFAULTS) ON COMMIT DROP');
      await copyRows(client, 'prediction_page', PREDICTION_COLUMNS, rows);
      await client.query(
        `INSERT INTO predictions (${PREDICTION_COLUMNS.join(', ')}) SELECT ${PREDICTION_COLUMNS.join(', ')} FROM prediction_page
         ON CONFLICT (task_id, model_version) DO NOTHING`,
      );
    });
  }
}


export async function predictionCounts(db: Db, projectId: number, modelVersion: string): Promise<{ total: number; distinctTasks: number }> {
  const { rows } = await db.query(
    'SELECT count(*)::int AS total, count(DISTINCT task_id)::int AS distinct_tasks FROM predictions WHERE project_id = $1 AND model_version = $2',
    [projectId, modelVersion],
  );
  return { total: rows[0].total, distinctTasks: rows[0].distinct_tasks };
}

/**
 * A keyset page of the champion's predictions not yet in Label Studio, by task id after
 * `afterTaskId`: each page is one index range scan, however many were pushed before.
 */
export async function unpushedPredictions(db: Db, projectId: number, modelVersion: string, limit: number, afterTaskId = 0): Promise<(PredictionRow & { queueScore: number | null })[]> {
  const { rows } = await db.query(
    `SELECT p.task_id, p.labels, p.probabilities, p.score, p.least_confidence, p.margin, p.entropy, p.queue_score
       FROM predictions p JOIN tasks t ON t.id = p.task_id
      WHERE p.project_id = $1 AND p.model_version = $2 AND p.task_id > $4 AND p.pushed_at IS NULL AND NOT t.deleted
      ORDER BY p.task_id LIMIT $3`,
    [projectId, modelVersion, limit, afterTaskId],
  );
  return rows.map((r) => ({
    taskId: r.task_id,
    labels: r.labels,
    probabilities: r.probabilities,
    score: r.score,
    leastConfidence: r.least_confidence,
    margin: r.margin,
    entropy: r.entropy,
    queueScore: r.queue_score,
  }));
}

export async function markPushed(db: Db, modelVersion: string, taskIds: number[]): Promise<void> {
  await db.query('UPDATE predictions SET pushed_at = now() WHERE model_version = $1 AND task_id = ANY($2::bigint[])', [modelVersion, taskIds]);
}

/** Predictions sent to Label Studio by an attempt that died before recording it. */
export async function interruptedPushes(db: Db, projectId: number, modelVersion: string): Promise<number> {
  const { rows } = await db.query(
    'SELECT count(*)::int AS n FROM predictions WHERE project_id = $1 AND model_version = $2 AND push_started_at IS NOT NULL AND pushed_at IS NULL',
    [projectId, modelVersion],
  );
  return rows[0].n;
}

export async function markPushStarted(db: Db, modelVersion: string, taskIds: number[]): Promise<void> {
  await db.query('UPDATE predictions SET push_started_at = now() WHERE model_version = $1 AND task_id = ANY($2::bigint[])', [modelVersion, taskIds]);
}
