import type { Queryable } from './db.js';

export async function getLabelConfig(q: Queryable, projectId: number): Promise<string | null> {
  const { rows } = await q.query('SELECT label_config FROM projects WHERE id = $1', [projectId]);
  return rows[0]?.label_config ?? null;
}

/**
 * Stores projects' label configs (already validated as trainable by the caller). `source` says
 * who told us: 'setup' (Label Studio's /setup call), 'webhook' or 'api' (reconciliation).
 */
export async function saveLabelConfigs(q: Queryable, configs: { projectId: number; labelConfig: string }[], source: string): Promise<void> {
  if (configs.length === 0) return;
  await q.query(
    `INSERT INTO projects (id, label_config, config_source)
     SELECT id, label_config, $2 FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, label_config text)
     ON CONFLICT (id) DO UPDATE SET label_config = excluded.label_config, config_source = excluded.config_source, updated_at = now()
     WHERE projects.label_config IS DISTINCT FROM excluded.label_config`,
    [JSON.stringify(configs.map((c) => ({ id: c.projectId, label_config: c.labelConfig }))), source],
  );
}

export async function saveLabelConfig(q: Queryable, projectId: number, labelConfig: string, source: string): Promise<void> {
  await saveLabelConfigs(q, [{ projectId, labelConfig }], source);
}

/** Settings an operator stored for the project (only those set; the loop's defaults fill the rest). */
export async function getProjectSettings(q: Queryable, projectId: number): Promise<Partial<{ mode: 'continuous' | 'batch'; minAnnotations: number; quietPeriodMs: number; maxWaitMs: number }>> {
  const { rows } = await q.query('SELECT mode, debounce FROM projects WHERE id = $1', [projectId]);
  if (!rows[0]) return {};
  return { ...(rows[0].debounce ?? {}), ...(rows[0].mode ? { mode: rows[0].mode } : {}) };
}

export async function getProjectStrategy(q: Queryable, projectId: number): Promise<string | null> {
  const { rows } = await q.query('SELECT strategy FROM projects WHERE id = $1', [projectId]);
  return rows[0]?.strategy ?? null;
}

/** Stores settings an operator changed; only the given ones change. */
export async function saveProjectSettings(
  q: Queryable,
  projectId: number,
  s: { mode?: string; strategy?: string; debounce?: Record<string, number> },
): Promise<void> {
  await q.query(
    `UPDATE projects SET mode = COALESCE($2, mode), strategy = COALESCE($3, strategy),
            debounce = CASE WHEN $4::jsonb IS NULL THEN debounce ELSE COALESCE(debounce, '{}'::jsonb) || $4::jsonb END, updated_at = now()
      WHERE id = $1`,
    [projectId, s.mode ?? null, s.strategy ?? null, s.debounce ? JSON.stringify(s.debounce) : null],
  );
}

export interface ProjectSummaryRow {
  id: number;
  championVersion: string | null;
  tasks: number;
  labelled: number;
  mode: 'continuous' | 'batch' | null;
  strategy: string | null;
  lastRound: number | null;
}

/** Projects Label Loop can train (a trainable label config), with counts for an overview. */
export async function listProjects(q: Queryable): Promise<ProjectSummaryRow[]> {
  const { rows } = await q.query(
    `SELECT p.id, p.mode, p.strategy, c.version AS champion_version,
            (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND NOT t.deleted)::int AS tasks,
            (SELECT count(DISTINCT a.task_id) FROM annotations a JOIN tasks t ON t.id = a.task_id
              WHERE a.project_id = p.id AND NOT a.deleted AND NOT a.was_cancelled AND NOT t.deleted)::int AS labelled,
            (SELECT max(round) FROM rounds r WHERE r.project_id = p.id) AS last_round
       FROM projects p LEFT JOIN champions c ON c.project_id = p.id
      WHERE p.label_config IS NOT NULL
      ORDER BY p.id`,
  );
  return rows.map((r) => ({
    id: r.id,
    championVersion: r.champion_version,
    tasks: r.tasks,
    labelled: r.labelled,
    mode: r.mode,
    strategy: r.strategy,
    lastRound: r.last_round,
  }));
}
