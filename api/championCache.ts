import type { Db } from '../store/db.js';
import { getChampionVersion, getModel, getSnapshot, loadWeights } from '../store/index.js';
import { Classifier } from '../model/classifier.js';
import type { ClassificationTask } from '../labelstudio/labelConfig.js';

export interface Champion {
  version: string;
  classifier: Classifier;
  task: ClassificationTask;
}

/**
 * Champion models held in memory, one per project. Each lookup asks PostgreSQL which version is
 * champion (one indexed read), so a promotion made by any worker on any machine is served by the
 * very next request. A new champion is loaded completely before it replaces the old reference:
 * no request ever sees a half-loaded model. Loads are single-flight per project.
 */
export class ChampionCache {
  private readonly loaded = new Map<number, Champion>();
  private readonly loading = new Map<number, Promise<Champion>>();

  constructor(private readonly db: Db) {}

  async get(projectId: number): Promise<Champion | null> {
    const version = await getChampionVersion(this.db, projectId);
    if (!version) return null;
    const current = this.loaded.get(projectId);
    if (current?.version === version) return current;

    let pending = this.loading.get(projectId);
    if (!pending) {
      pending = this.load(projectId, version).finally(() => this.loading.delete(projectId));
      this.loading.set(projectId, pending);
    }
    const fresh = await pending;
    const before = this.loaded.get(projectId);
    if (before?.version !== fresh.version) {
      this.loaded.set(projectId, fresh);
      // Inference is synchronous (no await inside predictProba), so no request can be inside
      // the old model when it is disposed here.
      before?.classifier.dispose();
    }
    return fresh;
  }

  private async load(projectId: number, version: string): Promise<Champion> {
    const model = await getModel(this.db, projectId, version);
    if (!model) throw new Error(`champion ${version} of project ${projectId} is missing from models`);
    const [weights, snapshot] = await Promise.all([loadWeights(this.db, projectId, version), getSnapshot(this.db, model.snapshotId)]);
    return { version, classifier: Classifier.deserialize(weights), task: snapshot.task };
  }

  dispose(): void {
    for (const c of this.loaded.values()) c.classifier.dispose();
    this.loaded.clear();
  }
}
