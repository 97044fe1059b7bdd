/**
 * The stack's console tells the story: one line per round outcome (promoted or rejected with
 * the evidence, failed with the root cause) and one per push of predictions to Label Studio, as
 * they happen.
 *
 * The source is Temporal's visibility of the round workflows: every round is one
 * `trainingRound` workflow of this task queue, its result (RoundResult) is the outcome and its
 * failure carries the root cause. Listing closed rounds by close time misses none, however fast
 * they follow each other (polling a loop's status would see only its last round), and needs
 * nothing from the API's routes or the workflow code: data flows one way, from Temporal to here.
 */
import { WorkflowFailedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { Logger } from 'pino';
import { ROUND_WORKFLOW, type RoundResult } from '../contract/index.js';

export type RoundStory =
  | { projectId: number; round: number; workflowId: string; outcome: 'promoted' | 'rejected'; result: RoundResult }
  | { projectId: number; round: number; workflowId: string; outcome: 'failed'; error: { type: string; message: string; expected: boolean } };

const n = (x: number) => x.toLocaleString('en-US');

/** The lines a round's end adds to the story: its outcome, then its push. */
export function storyLines(s: RoundStory): string[] {
  const head = `project ${s.projectId} round ${s.round}`;
  if (s.outcome === 'failed') return [`${head}: FAILED: ${s.error.type}: ${s.error.message} (workflow ${s.workflowId})`];
  const r = s.result;
  const m = r.candidateMetrics;
  // The decision's reason already names the metric, the effect with its interval and the test.
  const why = r.reason.replace(/^(promoted|rejected):\s*/, '');
  const evidence = `${n(m.n)} audit items, cross-validated accuracy ${m.accuracy.toFixed(3)}, macro-F1 ${m.macroF1.toFixed(3)}; trained on ${n(r.trainCount)}`;
  const lines = [
    r.promoted
      ? `${head}: PROMOTED ${r.modelVersion}: ${why} (${evidence})`
      : `${head}: rejected ${r.modelVersion}, champion ${r.championVersion ?? 'none'} stays: ${why} (${evidence})`,
  ];
  if (r.pushed > 0) lines.push(`${head}: pushed ${n(r.pushed)} predictions of ${r.championVersion} to Label Studio`);
  else if (r.predicted > 0) lines.push(`${head}: ${n(r.predicted)} new predictions of ${r.championVersion} stored (no Label Studio configured: nothing pushed)`);
  return lines;
}

/** `label-loop-project-12-round-3` → { projectId: 12, round: 3 }. */
export function parseRoundWorkflowId(id: string): { projectId: number; round: number } | null {
  const m = /^label-loop-project-(\d+)-round-(\d+)$/.exec(id);
  return m ? { projectId: Number(m[1]), round: Number(m[2]) } : null;
}

/** The bottom of a failure chain: workflow → activity → the application failure that says why. */
export function rootCause(err: unknown): { type: string; message: string; expected: boolean } {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  if (!(e instanceof Error)) return { type: 'Error', message: String(e), expected: false };
  const type = e instanceof ApplicationFailure && e.type ? e.type : e.name;
  const expected = e instanceof ApplicationFailure && e.category === ApplicationFailureCategory.BENIGN;
  return { type, message: e.message || '(no message)', expected };
}

export interface StoryOptions {
  client: Client;
  /** Rounds of this task queue only (other stacks may share the namespace). */
  taskQueue: string;
  log: Logger;
  /** Tell rounds that close after this (default: now). */
  since?: Date;
  pollMs?: number;
  /** Where lines go; default the logger (info, or warn for an unexpected failure). */
  emit?: (story: RoundStory, lines: string[]) => void;
}

export interface Story {
  /** One look at Temporal (the timer calls it; tests may too). */
  poll(): Promise<void>;
  stop(): Promise<void>;
}

// Visibility is eventually consistent: keep looking this far back, and remember what was told.
const LOOKBACK_MS = 5 * 60_000;
const ERROR_LOG_INTERVAL_MS = 60_000;

export function startStory(opts: StoryOptions): Story {
  const { client, taskQueue, log } = opts;
  const since = (opts.since ?? new Date()).getTime();
  const pollMs = opts.pollMs ?? 2_000;
  const told = new Map<string, number>(); // run id → close time (ms)
  let lastErrorLogged = 0;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  const emit =
    opts.emit ??
    ((story: RoundStory, lines: string[]) => {
      const level = story.outcome === 'failed' && !story.error.expected ? 'warn' : 'info';
      // `story` carries the fields for JSON logs; the pretty console shows the line alone.
      const fields =
        story.outcome === 'failed'
          ? { projectId: story.projectId, round: story.round, outcome: story.outcome, workflowId: story.workflowId, error: story.error }
          : {
              projectId: story.projectId,
              round: story.round,
              outcome: story.outcome,
              workflowId: story.workflowId,
              modelVersion: story.result.modelVersion,
              championVersion: story.result.championVersion,
              reason: story.result.reason,
              evaluatedOn: story.result.candidateMetrics.n,
              trainCount: story.result.trainCount,
              predicted: story.result.predicted,
              pushed: story.result.pushed,
            };
      for (const line of lines) log[level]({ story: fields }, line);
    });

  async function tell(wf: WorkflowExecutionInfo): Promise<void> {
    const ids = parseRoundWorkflowId(wf.workflowId);
    if (!ids) return;
    const base = { ...ids, workflowId: wf.workflowId };
    let story: RoundStory;
    try {
      const result = (await client.workflow.getHandle(wf.workflowId, wf.runId).result()) as RoundResult;
      story = { ...base, outcome: result.promoted ? 'promoted' : 'rejected', result };
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      story = { ...base, outcome: 'failed', error: rootCause(err) };
    }
    emit(story, storyLines(story));
  }

  // One look at a time (the timer's and a caller's would tell a round twice).
  let chain: Promise<void> = Promise.resolve();
  const poll = (): Promise<void> => (chain = chain.catch(() => undefined).then(look));

  async function look(): Promise<void> {
    const floor = Math.max(since, Date.now() - LOOKBACK_MS);
    for (const [runId, closed] of told) if (closed < floor) told.delete(runId);
    const query =
      `WorkflowType = "${ROUND_WORKFLOW}" AND TaskQueue = "${taskQueue}" AND ExecutionStatus != "Running" ` +
      `AND CloseTime > "${new Date(floor).toISOString()}"`;
    const closed: WorkflowExecutionInfo[] = [];
    for await (const wf of client.workflow.list({ query, pageSize: 100 })) {
      if (!told.has(wf.runId) && wf.status.name !== 'CONTINUED_AS_NEW') closed.push(wf);
      if (closed.length >= 100) break;
    }
    closed.sort((a, b) => (a.closeTime?.getTime() ?? 0) - (b.closeTime?.getTime() ?? 0));
    for (const wf of closed) {
      await tell(wf);
      told.set(wf.runId, wf.closeTime?.getTime() ?? Date.now());
    }
  }

  const guardedPoll = async () => {
    try {
      await poll();
    } catch (err) {
      // Temporal down or restarting: the story resumes when it is back, and misses nothing then.
      if (Date.now() - lastErrorLogged > ERROR_LOG_INTERVAL_MS) {
        lastErrorLogged = Date.now();
        log.warn({ err: (err as Error).message }, 'cannot read the rounds from Temporal now; the console story resumes when it answers');
      }
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = guardedPoll().finally(() => {
        running = null;
        schedule();
      });
    }, pollMs);
    timer.unref();
  };
  schedule();

  return {
    poll,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
