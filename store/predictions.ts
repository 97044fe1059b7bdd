import type { Db } from './db.js';

export interface PredictionRow {
  taskId: number;
  labels: string[];
  probabilities: number[];
  score: number;
  leastConfidence: number;
  margin: number;
  entropy: number;
}

/**
 * Ids of the project's live tasks that have no prediction of `modelVersion` yet, unlabelled
 * tasks first (annotators need those scores soonest), then by id. Finished chunks drop out of
 * this list, which is what lets a retried bulk prediction resume where the last one stopped.
 */
export async function tasksToPredict(db: Db, projectId: number, modelVersion: string): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT t.id FROM tasks t
      WHERE t.project_id = $1 AND NOT t.deleted
        AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.task_id = t.id AND p.model_version = $2)
      ORDER BY EXISTS (SELECT 1 FROM annotations a WHERE a.task_id = t.id AND NOT a.deleted AND NOT a.was_cancelled), t.id`,
    [projectId, modelVersion],
  );
  return rows.map((r) => r.id);
}

export async function taskData(db: Db, taskIds: number[]): Promise<{ id: number; data: unknown }[]> {
  const { rows } = await db.query('SELECT id, data FROM tasks WHERE id = ANY($1::bigint[]) ORDER BY id', [taskIds]);
  return rows;
}

/** Idempotent: a task has at most one prediction per model version. */
export async function savePredictions(db: Db, projectId: number, modelVersion: string, predictions: PredictionRow[]): Promise<void> {
  if (predictions.length === 0) return;
  await db.query(
    `INSERT INTO predictions (task_id, model_version, project_id, labels, probabilities, score, least_confidence, margin, entropy)
     SELECT task_id, $2, $1, ARRAY(SELECT jsonb_array_elements_text(labels)),
            ARRAY(SELECT jsonb_array_elements_text(probabilities)::real), score, least_confidence, margin, entropy
       FROM jsonb_to_recordset($3::jsonb) AS x(task_id bigint, labels jsonb, probabilities jsonb, score float8,
            least_confidence float8, margin float8, entropy float8)
     ON CONFLICT (task_id, model_version) DO NOTHING`,
    [
      projectId,
      modelVersion,
      JSON.stringify(
        predictions.map((p) => ({
          task_id: p.taskId,
          labels: p.labels,
          probabilities: p.probabilities,
          score: p.score,
          least_confidence: p.leastConfidence,
          margin: p.margin,
          entropy: p.entropy,
        })),
      ),
    ],
  );
}

export type SamplingStrategy = 'least_confidence' | 'margin' | 'entropy';

// Column and direction per strategy: "least certain first".
const ORDER: Record<SamplingStrategy, string> = {
  least_confidence: 'p.least_confidence DESC',
  margin: 'p.margin ASC',
  entropy: 'p.entropy DESC',
};

export interface NextTask {
  taskId: number;
  data: unknown;
  modelVersion: string | null;
  labels: string[] | null;
  score: number | null;
  leastConfidence: number | null;
  margin: number | null;
  entropy: number | null;
}

/**
 * The project's unlabelled tasks, least certain under `modelVersion` first. Tasks the model has
 * not scored yet (imported since the last round) follow, by id; with no model, all are by id.
 */
export async function nextTasks(
  db: Db,
  projectId: number,
  modelVersion: string | null,
  strategy: SamplingStrategy,
  limit: number,
): Promise<NextTask[]> {
  const { rows } = await db.query(
    `SELECT t.id, t.data, p.model_version, p.labels, p.score, p.least_confidence, p.margin, p.entropy
       FROM tasks t
       LEFT JOIN predictions p ON p.task_id = t.id AND p.model_version = $2
      WHERE t.project_id = $1 AND NOT t.deleted
        AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.task_id = t.id AND NOT a.deleted AND NOT a.was_cancelled)
      ORDER BY (p.task_id IS NULL), ${ORDER[strategy]}, t.id
      LIMIT $3`,
    [projectId, modelVersion ?? '', limit],
  );
  return rows.map((r) => ({
    taskId: r.id,
    data: r.data,
    modelVersion: r.model_version,
    labels: r.labels,
    score: r.score,
    leastConfidence: r.least_confidence,
    margin: r.margin,
    entropy: r.entropy,
  }));
}

export async function predictionCounts(db: Db, projectId: number, modelVersion: string): Promise<{ total: number; distinctTasks: number }> {
  const { rows } = await db.query(
    'SELECT count(*)::int AS total, count(DISTINCT task_id)::int AS distinct_tasks FROM predictions WHERE project_id = $1 AND model_version = $2',
    [projectId, modelVersion],
  );
  return { total: rows[0].total, distinctTasks: rows[0].distinct_tasks };
}

export async function unpushedPredictions(db: Db, projectId: number, modelVersion: string, limit: number): Promise<PredictionRow[]> {
  const { rows } = await db.query(
    `SELECT p.task_id, p.labels, p.probabilities, p.score, p.least_confidence, p.margin, p.entropy
       FROM predictions p JOIN tasks t ON t.id = p.task_id
      WHERE p.project_id = $1 AND p.model_version = $2 AND p.pushed_at IS NULL AND NOT t.deleted
      ORDER BY p.task_id LIMIT $3`,
    [projectId, modelVersion, limit],
  );
  return rows.map((r) => ({
    taskId: r.task_id,
    labels: r.labels,
    probabilities: r.probabilities,
    score: r.score,
    leastConfidence: r.least_confidence,
    margin: r.margin,
    entropy: r.entropy,
  }));
}

export async function markPushed(db: Db, modelVersion: string, taskIds: number[]): Promise<void> {
  await db.query('UPDATE predictions SET pushed_at = now() WHERE model_version = $1 AND task_id = ANY($2::bigint[])', [modelVersion, taskIds]);
}
