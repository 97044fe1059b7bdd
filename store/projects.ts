import type { Db } from './db.js';

export async function getLabelConfig(db: Db, projectId: number): Promise<string | null> {
  const { rows } = await db.query('SELECT label_config FROM projects WHERE id = $1', [projectId]);
  return rows[0]?.label_config ?? null;
}

/** `source` says who told us: 'setup' (Label Studio's /setup call), 'webhook' or 'api'. */
export async function saveLabelConfig(db: Db, projectId: number, labelConfig: string, source: string): Promise<void> {
  await db.query(
    `INSERT INTO projects (id, label_config, config_source) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET label_config = excluded.label_config, config_source = excluded.config_source, updated_at = now()
     WHERE projects.label_config IS DISTINCT FROM excluded.label_config`,
    [projectId, labelConfig, source],
  );
}
