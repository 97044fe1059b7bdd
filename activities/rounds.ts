/**
 * Book-keeping of rounds for operators (the rounds table behind the API, the CLI, the dashboard
 * and the metrics), operators' champion changes, and the request a schedule makes.
 */
import { activityInfo } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import {
  getChampionVersion,
  getLabelConfig,
  getModel,
  getProjectSettings,
  getRound,
  getSnapshot,
  lastRoundNumber,
  markRoundFailed,
  recordRoundEnd,
  recordRoundStart,
  roundSource,
  setChampion,
  type RoundEnd,
} from '../store/index.js';
import { parseLabelConfig } from '../labelstudio/labelConfig.js';
import { requestRoundSignal, type LoopSettings, type RoundTrigger, type TrainOverrides } from '../contract/index.js';
import { signalLoop, type LoopTarget } from '../client/loops.js';
import { expectedFailure, nonRetryable } from './failures.js';

export interface RoundDeps {
  db: Db;
  log: Logger;
  /** Temporal, for the requests that schedules make; absent in processes that run no schedules. */
  loops?: LoopTarget;
}

/** The workflow run that called the activity (always set for activities of a workflow). */
function execution(): { workflowId: string; runId: string } {
  const e = activityInfo().workflowExecution;
  if (!e) throw nonRetryable('this activity runs only from a workflow', 'NoWorkflow');
  return e;
}

export function roundActivities({ db, log, loops }: RoundDeps) {
  return {
    /** Opens (or, for a run restarted by a reset, re-opens) the round's row. Idempotent. */
    async recordRoundStart(args: { projectId: number; round: number; trigger: RoundTrigger; replayOf: number | null; overrides: TrainOverrides | null }): Promise<void> {
      const { workflowId, runId } = execution();
      await recordRoundStart(db, { ...args, workflowId, runId });
    },

    /** Closes the round's row with its outcome, evidence, root cause and step durations. Idempotent. */
    async recordRoundEnd(args: Omit<RoundEnd, 'runId'>): Promise<void> {
      await recordRoundEnd(db, { ...args, runId: execution().runId });
      log.info({ projectId: args.projectId, round: args.round, outcome: args.outcome, modelVersion: args.modelVersion, error: args.error?.message }, `round ${args.outcome}`);
    },

    /** The loop saw round `round` end without closing its row (terminated, timed out): record why. */
    async markRoundFailed(args: { projectId: number; round: number; error: { type: string; message: string } }): Promise<void> {
      await markRoundFailed(db, args.projectId, args.round, args.error);
    },

    /**
     * An operator's promotion of a chosen version, or rollback to the previous champion. The
     * version must answer in the project's current labels (a model for an older label config
     * would serve choices Label Studio no longer has).
     */
    async changeChampion(args: { projectId: number; round: number; action: 'promote' | 'rollback'; version?: string; actor: string; reason: string }) {
      const labelConfig = await getLabelConfig(db, args.projectId);
      const current = labelConfig ? parseLabelConfig(labelConfig).labels : null;
      if (args.version) {
        const model = await getModel(db, args.projectId, args.version);
        if (!model?.hasWeights) throw expectedFailure(`model ${args.version} of project ${args.projectId} does not exist or was never trained`, 'UnknownModel');
        const labels = (await getSnapshot(db, model.snapshotId)).task.labels;
        if (current && labels.join('\u0000') !== current.join('\u0000')) {
          throw expectedFailure(`model ${args.version} predicts ${labels.join(', ')}, but the project's labels are now ${current.join(', ')}`, 'LabelsChanged');
        }
      }
      try {
        return await setChampion(db, args);
      } catch (err) {
        // "No previous champion" and the like: the request cannot succeed by retrying.
        throw expectedFailure((err as Error).message, 'ChampionUnchanged');
      }
    },

    /** What a replay of `round` starts from (its snapshot and overrides); refuses rounds that did not fail. */
    async replaySource({ projectId, round }: { projectId: number; round: number }): Promise<{ snapshotId: string | null; overrides: TrainOverrides | null }> {
      const row = await getRound(db, projectId, round);
      if (!row) throw expectedFailure(`project ${projectId} has no round ${round}`, 'UnknownRound');
      const source = await roundSource(db, projectId, round);
      return { snapshotId: source?.snapshotId ?? null, overrides: (source?.overrides as TrainOverrides | null) ?? null };
    },

    /** The project's champion, last round number and stored settings, for a loop that starts. */
    async loadProject({ projectId }: { projectId: number }): Promise<{ championVersion: string | null; lastRound: number; settings: Partial<LoopSettings> }> {
      const [championVersion, lastRound, settings] = await Promise.all([getChampionVersion(db, projectId), lastRoundNumber(db, projectId), getProjectSettings(db, projectId)]);
      return { championVersion, lastRound, settings };
    },

    /** A schedule fired: ask the loop for a round, dropped by the loop if one runs already. */
    async requestScheduledRound({ projectId, schedule }: { projectId: number; schedule: string }): Promise<void> {
      if (!loops) throw nonRetryable('this worker has no Temporal client for scheduled requests', 'NoTemporalClient');
      await signalLoop(loops, projectId, requestRoundSignal, { reason: `schedule ${schedule}`, trigger: 'schedule', skipIfBusy: true });
    },
  };
}
