import type { ProjectSync } from '../activities/projectSync.js';
import type { Db } from '../store/db.js';
import type { Config } from './config.js';

/** The Label Studio side of rounds, when LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are set. */
export function createProjectSync(config: Config, db: Db): ProjectSync | undefined {
  if (!config.labelStudio) return undefined;
  void db;
  throw new Error('Label Studio sync is not wired yet');
}
