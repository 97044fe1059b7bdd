import type { ProjectSync } from '../activities/projectSync.js';
import type { Db } from '../store/db.js';
import { LabelStudioClient } from '../labelstudio/client.js';
import { LabelStudioSync } from '../labelstudio/sync.js';
import type { Config } from './config.js';

/** The Label Studio side of rounds, when LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are set. */
export function createProjectSync(config: Config, db: Db): ProjectSync | undefined {
  if (!config.labelStudio) return undefined;
  const client = new LabelStudioClient({ url: config.labelStudio.url, apiKey: config.labelStudio.apiKey });
  return new LabelStudioSync(db, client, { info: (m) => console.log(`[label-loop] ${m}`) });
}
