/**
 * How Label Loop arranges a project in Label Studio's Data Manager so annotators get the most
 * informative task next (used by `connect` and after every push).
 */
import { LabelStudioError, type LabelStudioClient } from './client.js';

/** Title of the Data Manager tab Label Loop keeps ordered by the champion's scores. */
export const LEAST_CONFIDENT_VIEW = 'Label Loop: least confident first';

/**
 * Data Manager tab: unlabelled tasks, lowest prediction score (confidence of the project's
 * model_version) first. Label Studio's "Label All Tasks" from this tab follows that order.
 */
export const leastConfidentView = () => ({
  title: LEAST_CONFIDENT_VIEW,
  ordering: ['tasks:predictions_score'],
  filters: {
    conjunction: 'and',
    items: [{ filter: 'filter:tasks:total_annotations', operator: 'equal', type: 'Number', value: 0 }],
  },
});

export const UNCERTAINTY_SAMPLING = 'Uncertainty sampling';

/**
 * Asks Label Studio to serve the lowest-scored task next. Community 1.23 accepts and honours it
 * through the API although its settings page does not offer it; a server that refuses is left
 * as it is. Returns whether the project now uses it.
 */
export async function preferUncertaintySampling(ls: LabelStudioClient, projectId: number): Promise<boolean> {
  try {
    await ls.patchProject(projectId, { sampling: UNCERTAINTY_SAMPLING });
    return (await ls.getProject(projectId)).sampling === UNCERTAINTY_SAMPLING;
  } catch (err) {
    if (err instanceof LabelStudioError && err.permanent) return false;
    throw err;
  }
}

/** Creates the least-confident-first tab once; later calls leave it as the user sees it. */
export async function ensureLeastConfidentView(ls: LabelStudioClient, projectId: number): Promise<{ id: number; created: boolean }> {
  const views = await ls.listViews(projectId);
  const existing = views.find((v) => v.data?.title === LEAST_CONFIDENT_VIEW);
  if (existing) return { id: existing.id, created: false };
  const view = await ls.createView(projectId, leastConfidentView());
  return { id: view.id, created: true };
}
