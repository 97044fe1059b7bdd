import type pg from 'pg';
import type { Db } from './db.js';
import { withTransaction } from './db.js';
import type { EvaluationMetrics as Metrics } from '../model/metrics.js';
import type { Estimate } from '../model/evaluation.js';
import type { Evidence } from '../policies/promotion.js';

/** Serialises every change of a project's champion (rounds' promotions, operators' choices). */
const PROMOTION_LOCK = 7_301_945;

export type ModelStatus = 'training' | 'candidate' | 'champion' | 'retired' | 'rejected';

export interface ModelRow {
  projectId: number;
  version: string;
  snapshotId: string;
  status: ModelStatus;
  hasWeights: boolean;
  trainOptions: Record<string, unknown>;
  backend: string | null;
  trainMs: number | null;
  metrics: Metrics | null;
  championVersion: string | null;
  championMetrics: Metrics | null;
  baselineMetrics: Metrics | null;
  /** The promotion decision once made; the status may later move on (champion → retired). */
  promoted: boolean | null;
  decisionReason: string | null;
  /** The evaluation's quality estimate (source, n, accuracy and macro-F1 with intervals, ECE). */
  estimate: Estimate | null;
  /** The gate's decision and its evidence (policies/promotion.ts). */
  evidence: Evidence | null;
  createdAt: string;
}

const COLUMNS = `project_id, version, snapshot_id, status, weights IS NOT NULL AS has_weights, train_options, backend,
  train_ms, metrics, champion_version, champion_metrics, baseline_metrics, promoted, decision_reason, estimate, evidence, created_at`;

function toRow(r: Record<string, any>): ModelRow {
  return {
    projectId: r.project_id,
    version: r.version,
    snapshotId: r.snapshot_id,
    status: r.status,
    hasWeights: r.has_weights,
    trainOptions: r.train_options,
    backend: r.backend,
    trainMs: r.train_ms,
    metrics: r.metrics,
    championVersion: r.champion_version,
    championMetrics: r.champion_metrics,
    baselineMetrics: r.baseline_metrics,
    promoted: r.promoted,
    decisionReason: r.decision_reason,
    estimate: r.estimate ?? null,
    evidence: r.evidence ?? null,
    createdAt: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
  };
}

export async function getModel(db: Db, projectId: number, version: string): Promise<ModelRow | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM models WHERE project_id = $1 AND version = $2`, [projectId, version]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

export async function listModels(db: Db, projectId: number): Promise<ModelRow[]> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM models WHERE project_id = $1 ORDER BY created_at, version`, [projectId]);
  return rows.map(toRow);
}

export async function registerTraining(
  db: Db,
  m: { projectId: number; version: string; snapshotId: string; roundKey: string; trainOptions: object },
): Promise<void> {
  await db.query(
    `INSERT INTO models (project_id, version, snapshot_id, round_key, train_options) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (project_id, version) DO NOTHING`,
    [m.projectId, m.version, m.snapshotId, m.roundKey, JSON.stringify(m.trainOptions)],
  );
}

export async function saveCheckpoint(db: Db, projectId: number, version: string, epoch: number, state: Uint8Array): Promise<void> {
  await db.query(
    `INSERT INTO training_checkpoints (project_id, version, epoch, state) VALUES ($1, $2, $3, $4)
     ON CONFLICT (project_id, version) DO UPDATE SET epoch = excluded.epoch, state = excluded.state, updated_at = now()
     WHERE training_checkpoints.epoch < excluded.epoch`,
    [projectId, version, epoch, Buffer.from(state)],
  );
}

export async function loadCheckpoint(db: Db, projectId: number, version: string): Promise<{ epoch: number; state: Uint8Array } | undefined> {
  const { rows } = await db.query('SELECT epoch, state FROM training_checkpoints WHERE project_id = $1 AND version = $2', [projectId, version]);
  return rows[0] ? { epoch: rows[0].epoch, state: new Uint8Array(rows[0].state) } : undefined;
}

/** Stores the trained weights and drops the checkpoint, in one transaction. */
export async function saveTrainedModel(
  db: Db,
  m: { projectId: number; version: string; weights: Uint8Array; backend: string; trainMs: number },
): Promise<void> {
  await withTransaction(db, async (c) => {
    await c.query(
      `UPDATE models SET weights = $3, backend = $4, train_ms = $5, status = 'candidate'
        WHERE project_id = $1 AND version = $2 AND weights IS NULL`,
      [m.projectId, m.version, Buffer.from(m.weights), m.backend, m.trainMs],
    );
    await c.query('DELETE FROM training_checkpoints WHERE project_id = $1 AND version = $2', [m.projectId, m.version]);
  });
}

export async function loadWeights(db: Db, projectId: number, version: string): Promise<Uint8Array> {
  const { rows } = await db.query('SELECT weights FROM models WHERE project_id = $1 AND version = $2', [projectId, version]);
  if (!rows[0]?.weights) throw new Error(`model ${version} of project ${projectId} has no weights`);
  return new Uint8Array(rows[0].weights);
}

export async function saveEvaluation(
  db: Db,
  m: {
    projectId: number;
    version: string;
    metrics: Metrics;
    championVersion: string | null;
    championMetrics: Metrics | null;
    baselineMetrics: Metrics;
    estimate: object;
    evidence: object;
  },
): Promise<void> {
  await db.query(
    `UPDATE models SET metrics = $3, champion_version = $4, champion_metrics = $5, baseline_metrics = $6, estimate = $7, evidence = $8
      WHERE project_id = $1 AND version = $2`,
    [
      m.projectId,
      m.version,
      JSON.stringify(m.metrics),
      m.championVersion,
      JSON.stringify(m.championMetrics),
      JSON.stringify(m.baselineMetrics),
      JSON.stringify(m.estimate),
      JSON.stringify(m.evidence),
    ],
  );
}

/** The round number encoded in a version (`r12-…`), or null. */
const roundOfVersion = (version: string) => {
  const m = /^r([0-9]{1,9})-/.exec(version);
  return m ? Number(m[1]) : null;
};

/** Swaps the champion row, the two models' statuses and writes the history, in the caller's transaction. */
async function makeChampion(
  c: pg.PoolClient,
  a: { projectId: number; version: string; previous: string | null; action: 'round' | 'promote' | 'rollback'; actor: string | null; reason: string; round: number | null },
): Promise<void> {
  if (a.previous) await c.query(`UPDATE models SET status = 'retired' WHERE project_id = $1 AND version = $2`, [a.projectId, a.previous]);
  await c.query(`UPDATE models SET status = 'champion' WHERE project_id = $1 AND version = $2`, [a.projectId, a.version]);
  await c.query(
    `INSERT INTO champions (project_id, version) VALUES ($1, $2)
     ON CONFLICT (project_id) DO UPDATE SET version = excluded.version, promoted_at = now()`,
    [a.projectId, a.version],
  );
  await c.query(
    `INSERT INTO champion_history (project_id, version, previous_version, action, round, actor, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [a.projectId, a.version, a.previous, a.action, a.round, a.actor, a.reason],
  );
}

export interface ChampionChange {
  championVersion: string;
  previousVersion: string | null;
  /** False when the version already was champion (a retried request): nothing changed. */
  changed: boolean;
}

/**
 * An operator's choice of champion: `promote` a given version, or `rollback` to the champion
 * before the current one. Atomic and serialised with the rounds' promotions; recorded with who
 * and why. Idempotent: promoting the champion again changes nothing.
 */
export async function setChampion(
  db: Db,
  a: { projectId: number; action: 'promote' | 'rollback'; version?: string; actor: string; reason: string; round: number | null },
): Promise<ChampionChange> {
  return withTransaction(db, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', [PROMOTION_LOCK, a.projectId]);
    const current: string | null = (await c.query('SELECT version FROM champions WHERE project_id = $1', [a.projectId])).rows[0]?.version ?? null;
    let target = a.version;
    if (a.action === 'rollback') {
      if (!current) throw new Error(`project ${a.projectId} has no champion to roll back`);
      const { rows } = await c.query(
        `SELECT previous_version FROM champion_history WHERE project_id = $1 AND version = $2 AND previous_version IS NOT NULL ORDER BY id DESC LIMIT 1`,
        [a.projectId, current],
      );
      target = rows[0]?.previous_version;
      if (!target) throw new Error(`project ${a.projectId}: champion ${current} has no previous champion to roll back to`);
    }
    if (!target) throw new Error('a version to promote is required');
    const model = (await c.query('SELECT weights IS NOT NULL AS has_weights FROM models WHERE project_id = $1 AND version = $2', [a.projectId, target])).rows[0];
    if (!model?.has_weights) throw new Error(`model ${target} of project ${a.projectId} does not exist or has no weights`);
    if (target === current) return { championVersion: target, previousVersion: current, changed: false };
    await makeChampion(c, { projectId: a.projectId, version: target, previous: current, action: a.action, actor: a.actor, reason: a.reason, round: a.round });
    return { championVersion: target, previousVersion: current, changed: true };
  });
}

export interface ChampionHistoryRow {
  version: string;
  previousVersion: string | null;
  action: string;
  round: number | null;
  actor: string | null;
  reason: string;
  at: string;
}

export async function championHistory(db: Db, projectId: number, limit = 50): Promise<ChampionHistoryRow[]> {
  const { rows } = await db.query(
    'SELECT version, previous_version, action, round, actor, reason, at FROM champion_history WHERE project_id = $1 ORDER BY id DESC LIMIT $2',
    [projectId, limit],
  );
  return rows.map((r) => ({
    version: r.version,
    previousVersion: r.previous_version,
    action: r.action,
    round: r.round,
    actor: r.actor,
    reason: r.reason,
    at: r.at instanceof Date ? r.at.toISOString() : String(r.at),
  }));
}

export async function getChampionVersion(db: Db, projectId: number): Promise<string | null> {
  const { rows } = await db.query('SELECT version FROM champions WHERE project_id = $1', [projectId]);
  return rows[0]?.version ?? null;
}

export interface PromotionDecision {
  promoted: boolean;
  reason: string;
  championVersion: string | null;
}

/**
 * Decides a candidate once, atomically: the champion row is locked, so two rounds (or two
 * attempts of one) can never both promote. A decided candidate returns its stored decision.
 * `decide` gets the candidate row and the current champion and returns whether it wins.
 */
export async function decidePromotion(
  db: Db,
  projectId: number,
  version: string,
  decide: (candidate: ModelRow, currentChampion: string | null) => { promote: boolean; reason: string },
): Promise<PromotionDecision> {
  return withTransaction(db, async (c) => {
    // Serialise decisions per project, also before the champions row exists.
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', [PROMOTION_LOCK, projectId]);
    const { rows } = await c.query(`SELECT ${COLUMNS} FROM models WHERE project_id = $1 AND version = $2 FOR UPDATE`, [projectId, version]);
    if (!rows[0]) throw new Error(`model ${version} of project ${projectId} does not exist`);
    const candidate = toRow(rows[0]);
    const champ = await c.query('SELECT version FROM champions WHERE project_id = $1', [projectId]);
    const current: string | null = champ.rows[0]?.version ?? null;
    if (candidate.status !== 'candidate') {
      return { promoted: candidate.promoted === true, reason: candidate.decisionReason ?? candidate.status, championVersion: current };
    }
    const { promote, reason } = decide(candidate, current);
    if (!promote) {
      await c.query(`UPDATE models SET status = 'rejected', promoted = false, decision_reason = $3, decided_at = now() WHERE project_id = $1 AND version = $2`, [projectId, version, reason]);
      return { promoted: false, reason, championVersion: current };
    }
    await c.query(`UPDATE models SET promoted = true, decision_reason = $3, decided_at = now() WHERE project_id = $1 AND version = $2`, [projectId, version, reason]);
    await makeChampion(c, { projectId, version, previous: current, action: 'round', actor: null, reason, round: roundOfVersion(version) });
    return { promoted: true, reason, championVersion: version };
  });
}
