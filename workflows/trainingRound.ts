import { proxyActivities, upsertSearchAttributes, workflowInfo, log } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { projectIdKey, roundOutcomeKey, type RoundInput, type RoundResult } from './definitions.js';
import { LONG_COMPUTE, SHORT_IO } from './profiles.js';

type Activities = ReturnType<typeof createActivities>;
const io = proxyActivities<Activities>(SHORT_IO);
const compute = proxyActivities<Activities>(LONG_COMPUTE);

/**
 * One training round: reconcile → export → train → evaluate → promote → re-predict → push.
 * Only ids and counts cross this boundary; data, weights and predictions live in PostgreSQL.
 */
export async function trainingRound(input: RoundInput): Promise<RoundResult> {
  const { projectId, round } = input;
  const info = workflowInfo();
  // The run id makes a re-run of the same round (after a reset) take a fresh snapshot.
  const roundKey = `${info.workflowId}/${info.runId}`;
  upsertSearchAttributes([{ key: projectIdKey, value: projectId }]);

  await io.reconcileProject({ projectId });
  const snapshot = await io.exportSnapshot({ projectId, roundKey });
  const candidate = await compute.trainCandidate({
    projectId,
    snapshotId: snapshot.snapshotId,
    round,
    overrides: input.overrides,
  });
  const evaluation = await io.evaluateCandidate({ projectId, modelVersion: candidate.modelVersion });
  const decision = await io.promoteIfBetter({ projectId, modelVersion: candidate.modelVersion });
  log.info('round decided', { projectId, round, modelVersion: candidate.modelVersion, promoted: decision.promoted, reason: decision.reason });

  let predicted = 0;
  let pushed = 0;
  if (decision.championVersion) {
    // Also after a rejection: tasks that arrived since the last round get the champion's scores.
    predicted = (await compute.predictTasks({ projectId, modelVersion: decision.championVersion })).predicted;
    pushed = (await io.pushPredictions({ projectId, modelVersion: decision.championVersion })).pushed;
  }
  upsertSearchAttributes([{ key: roundOutcomeKey, value: decision.promoted ? 'promoted' : 'rejected' }]);

  return {
    round,
    snapshotId: snapshot.snapshotId,
    trainCount: snapshot.trainCount,
    heldOutCount: snapshot.heldOutCount,
    modelVersion: candidate.modelVersion,
    promoted: decision.promoted,
    reason: decision.reason,
    championVersion: decision.championVersion,
    candidateMetrics: evaluation.candidate,
    championMetrics: evaluation.champion,
    predicted,
    pushed,
  };
}
