import {
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  ROUND_STEPS,
  loopWorkflowId,
  promotedKey,
  roundFinishedSignal,
  roundOutcomeKey,
  roundProgressSignal,
  type RoundFinished,
  type RoundInput,
  type RoundProgress,
  type RoundResult,
  type RoundStep,
} from '../contract/index.js';
import { roundProfiles } from './profiles.js';

type Call<A extends unknown[], R> = { executeWithOptions(options: ActivityOptions, args: A): Promise<R> };
/** An activity call with a summary the Web UI shows on the event (profile kept). */
const run = <A extends unknown[], R>(fn: Call<A, R>, profile: ActivityOptions, summary: string, ...args: A) =>
  fn.executeWithOptions({ ...profile, summary: summary.slice(0, 200) }, args);

const rootCause = (err: unknown): { type: string; message: string } => {
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return { type: (cause as { type?: string }).type ?? (cause as Error).name ?? 'Error', message: cause instanceof Error ? cause.message : String(cause) };
};

/**
 * One round. A training round runs reconcile → export → train → evaluate → promote →
 * re-predict → push; a replay re-runs a failed round (from its snapshot and seed unless `fresh`);
 * an operator's promotion or rollback changes the champion, then re-predicts and pushes.
 * Only ids and counts cross this boundary; data, weights and predictions live in PostgreSQL.
 * Every round ends with an outcome search attribute and a row in the rounds table, and tells its
 * loop (also a run an operator reset by hand), so the loop's status stays true.
 */
export async function trainingRound(input: RoundInput): Promise<RoundResult> {
  const { projectId, round } = input;
  const info = workflowInfo();
  // Compute activities (train, evaluate, predict) and I/O activities run on separate queues.
  const { shortIo: SHORT_IO, longIo: LONG_IO, longCompute: LONG_COMPUTE } = roundProfiles();
  const io = proxyActivities<Activities>(SHORT_IO);
  const pagedIo = proxyActivities<Activities>(LONG_IO);
  const compute = proxyActivities<Activities>(LONG_COMPUTE);
  // The run id makes a re-run of the same round (after a reset) take a fresh snapshot.
  const roundKey = `${info.workflowId}/${info.runId}`;
  const steps: Record<string, { ms: number }> = {};
  let current: RoundStep | null = null;
  let progress: RoundProgress | null = null;
  /** The promotion gate's evidence, once the evaluation has run. */
  let evidence: Record<string, unknown> | null = null;

  const showDetails = (tail?: string) => {
    const lines = ROUND_STEPS.map((step) => {
      if (steps[step]) return `- ✓ ${step} (${(steps[step].ms / 1000).toFixed(1)} s)`;
      if (step === current) return `- **▶ ${step}**${progress?.step === step ? `: ${progress.detail}` : ''}`;
      return `- ${step}`;
    });
    setCurrentDetails([`**Round ${round}** of project ${projectId} · ${input.trigger}`, ...lines, tail ?? ''].filter(Boolean).join('\n'));
  };
  setHandler(roundProgressSignal, (p) => {
    progress = p;
    showDetails();
  });
  const step = async <T>(name: RoundStep, fn: () => Promise<T>): Promise<T> => {
    current = name;
    progress = null;
    showDetails();
    const started = Date.now();
    const out = await fn();
    steps[name] = { ms: Date.now() - started };
    current = null;
    return out;
  };
  const notifyLoop = async (finished: RoundFinished) => {
    try {
      await getExternalWorkflowHandle(loopWorkflowId(projectId)).signal(roundFinishedSignal, finished);
    } catch {
      // The loop was terminated: nothing to keep in step.
    }
  };

  await io.recordRoundStart({ projectId, round, trigger: input.trigger, replayOf: input.replay?.of ?? null, overrides: input.overrides ?? null });
  try {
    const result = input.champion ? await championRound() : await trainRound();
    const outcome = input.replay ? 'replayed' : result.promoted ? 'promoted' : 'rejected';
    upsertSearchAttributes([
      { key: roundOutcomeKey, value: outcome },
      { key: promotedKey, value: result.promoted },
    ]);
    upsertMemo({ outcome, modelVersion: result.modelVersion, reason: result.reason });
    showDetails(`**${outcome}**: ${result.reason}`);
    await io.recordRoundEnd({
      projectId,
      round,
      outcome: result.promoted ? 'promoted' : 'rejected',
      modelVersion: result.modelVersion,
      snapshotId: result.snapshotId || null,
      trainCount: result.trainCount,
      evidence: evidence ?? { reason: result.reason },
      steps,
    });
    await notifyLoop({ round, result, error: null, championVersion: result.championVersion });
    return result;
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = rootCause(err);
    upsertSearchAttributes([{ key: roundOutcomeKey, value: 'failed' }]);
    upsertMemo({ outcome: 'failed', error: cause.message });
    showDetails(`**failed** in ${current ?? 'a step'}: ${cause.message}`);
    // Book-keeping must happen even if the round was cancelled meanwhile.
    await CancellationScope.nonCancellable(async () => {
      await io.recordRoundEnd({ projectId, round, outcome: 'failed', error: cause, steps });
      await notifyLoop({ round, result: null, error: cause.message, championVersion: null });
    });
    throw err;
  }

  async function trainRound(): Promise<RoundResult> {
    const source = input.replay ? await io.replaySource({ projectId, round: input.replay.of }) : null;
    const reuseSnapshot = source?.snapshotId && !input.replay!.fresh ? source.snapshotId : null;
    const overrides = source ? (source.overrides ?? undefined) : input.overrides;
    if (!reuseSnapshot) await step('reconcile', () => run(pagedIo.reconcileProject, LONG_IO, 'Read tasks and annotations from Label Studio', { projectId, round }));
    const snapshot = await step('export', () =>
      reuseSnapshot
        ? run(io.describeSnapshot, SHORT_IO, `Reuse snapshot ${reuseSnapshot} of round ${input.replay!.of}`, { snapshotId: reuseSnapshot })
        : run(io.exportSnapshot, SHORT_IO, 'Freeze the current labels into a snapshot', { projectId, roundKey }),
    );
    const candidate = await step('train', () =>
      run(compute.trainCandidate, LONG_COMPUTE, `Train a candidate on ${snapshot.trainCount} labels`, { projectId, snapshotId: snapshot.snapshotId, round, overrides }),
    );
    const evaluation = await step('evaluate', () =>
      run(compute.evaluateCandidate, LONG_COMPUTE, `Cross-validate ${candidate.modelVersion} on the audit items and compare it with the champion`, {
        projectId,
        modelVersion: candidate.modelVersion,
        round,
      }),
    );
    const decision = await step('promote', () =>
      run(io.promoteIfBetter, SHORT_IO, `Promote ${candidate.modelVersion} if it is better`, { projectId, modelVersion: candidate.modelVersion }),
    );
    log.info('round decided', { projectId, round, modelVersion: candidate.modelVersion, promoted: decision.promoted, reason: decision.reason });
    // The gate's evidence, with the reason that was applied (the champion may have changed since).
    evidence = evaluation.evidence ? { ...evaluation.evidence, reason: decision.reason } : null;
    const { predicted, pushed } = await predictAndPush(decision.championVersion);
    return {
      round,
      trigger: input.trigger,
      snapshotId: snapshot.snapshotId,
      trainCount: snapshot.trainCount,
      auditCount: snapshot.auditCount,
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

  async function championRound(): Promise<RoundResult> {
    const request = input.champion!;
    const change = await step('promote', () =>
      run(io.changeChampion, SHORT_IO, `${request.action} ${request.version ?? 'to the previous champion'} (${request.actor})`, {
        projectId,
        round,
        action: request.action,
        version: request.version,
        actor: request.actor,
        reason: request.reason,
      }),
    );
    const { predicted, pushed } = await predictAndPush(change.championVersion);
    const model = await io.describeModel({ projectId, modelVersion: change.championVersion });
    return {
      round,
      trigger: input.trigger,
      snapshotId: model.snapshotId,
      trainCount: model.trainCount,
      auditCount: model.auditCount,
      modelVersion: change.championVersion,
      promoted: change.changed,
      reason: `${request.action === 'rollback' ? 'rolled back' : 'promoted'} to ${change.championVersion} by ${request.actor}: ${request.reason}${change.changed ? '' : ' (it already was the champion)'}`,
      championVersion: change.championVersion,
      candidateMetrics: model.metrics,
      championMetrics: null,
      predicted,
      pushed,
    };
  }

  /** Also after a rejection: tasks that arrived since the last round get the champion's scores. */
  async function predictAndPush(championVersion: string | null): Promise<{ predicted: number; pushed: number }> {
    if (!championVersion) return { predicted: 0, pushed: 0 };
    const { predicted } = await step('predict', () =>
      run(compute.predictTasks, LONG_COMPUTE, `Predict every task with ${championVersion}`, { projectId, modelVersion: championVersion, round }),
    );
    // Rounds started before the serving queue existed go on without it (replay-safe upgrade).
    if (patched('serving-queue')) {
      await run(compute.rankTasks, LONG_COMPUTE, `Place the new predictions in the serving queue`, { projectId, modelVersion: championVersion, round });
    }
    const { pushed } = await step('push', () =>
      run(pagedIo.pushPredictions, LONG_IO, `Push ${championVersion}'s predictions to Label Studio`, { projectId, modelVersion: championVersion, round }),
    );
    return { predicted, pushed };
  }
}
