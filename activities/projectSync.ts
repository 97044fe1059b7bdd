/**
 * Keeping Label Loop and Label Studio in step, beyond webhooks: Label Studio sends each webhook
 * once and never retries, so every round first reconciles through its REST API, and pushes the
 * champion's predictions back after re-predicting.
 */
export interface ProjectSync {
  /** Syncs tasks and annotations (created, updated, deleted, cancelled); returns rows changed. */
  reconcile(projectId: number): Promise<number>;
  /** Pushes not-yet-pushed predictions of `modelVersion` and points the project at it; returns how many. */
  pushPredictions(projectId: number, modelVersion: string, progress: () => void): Promise<number>;
}
