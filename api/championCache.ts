import type { Db } from '../store/db.js';
import { getChampionVersion, getModel, getSnapshot, loadWeights } from '../store/index.js';
import { Classifier } from '../model/classifier.js';
import type { ClassificationTask } from '../labelstudio/labelConfig.js';

/**
 * A request that got a model runs its (synchronous) inference as soon as its await resumes;
 * disposing after a timer tick never pulls weights from under it.
 */
function disposeSoon(champion: Champion): void {
  setTimeout(() => champion.classifier.dispose(), 1_000).unref();
}

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
  /** Single-flight loads, keyed by project and version: a request never waits for an older one. */
  private readonly loading = new Map<string, Promise<Champion>>();
  /** The newest champion version any request has read, per project: what the cache must hold. */
  private readonly latest = new Map<number, string>();
  /** Models already scheduled for disposal (several waiters may resume with the same one). */
  private readonly disposing = new WeakSet<Champion>();

  constructor(private readonly db: Db) {}

  /** The version only, without loading weights (sampling and /setup need no model in memory). */
  version(projectId: number): Promise<string | null> {
    return getChampionVersion(this.db, projectId);
  }

  async get(projectId: number): Promise<Champion | null> {
    const version = await getChampionVersion(this.db, projectId);
    if (!version) return null;
    this.latest.set(projectId, version);
    const current = this.loaded.get(projectId);
    if (current?.version === version) return current;

    const key = `${projectId}:${version}`;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(projectId, version).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    const fresh = await pending;
    const before = this.loaded.get(projectId);
    // Two promotions in quick succession can finish loading out of order: keep the newest.
    if (before !== fresh && this.latest.get(projectId) === fresh.version) {
      this.loaded.set(projectId, fresh);
      if (before) disposeSoon(before);
    } else if (before !== fresh && !this.disposing.has(fresh)) {
      // Lost the race to a newer version: serve this request, then free its tensors.
      this.disposing.add(fresh);
      disposeSoon(fresh);
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
