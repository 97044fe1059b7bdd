/**
 * `--wait`: follows a requested round through the loop's status until it has finished, with a
 * progress bar of the running step on a terminal (cli-progress: redraw throttling, terminal
 * width, and nothing written to a stream that is not a terminal) and one line per step otherwise.
 * The bar is the status's `progress` (the running step's `{step, done, total, unit, detail}`,
 * which the worker writes to the round's row); the outcome is the round's row (GET
 * /api/projects/:id/rounds/:round). Progress goes to stderr so stdout stays the command's
 * result (`--json`).
 */
import cliProgress from 'cli-progress';
import { ApiError, type ApiClient } from './apiClient.js';
import type { LoopStatus, RoundOutcome, RoundRow } from './apiTypes.js';
import type { Colors, OutStream } from './output.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Shows the running round's step: a bar on a terminal, a line per step change elsewhere. */
export class RoundProgressView {
  private bar: cliProgress.SingleBar | null = null;
  private lastStep = '';

  constructor(
    private readonly stream: OutStream,
    private readonly colors: Colors,
  ) {}

  show(round: number, status: LoopStatus | null, note?: string): void {
    // Progress of this round only: a status still showing the previous round says nothing of it.
    const p = status?.currentRound === round ? status.progress : null;
    const step = note ?? (p ? p.step : status?.currentRound === round ? 'running' : 'waiting to start');
    // A step of unknown size (Label Studio's pages, pushed predictions) reports total 0: its count, an empty bar.
    const total = p && p.total > 0 ? p.total : 1;
    const done = p && p.total > 0 ? Math.min(p.done, p.total) : 0;
    const amount = p ? (p.total > 0 ? `${done}/${p.total}` : String(p.done)) : '';
    const payload = { round, step, amount, unit: p?.unit ?? '', detail: p?.detail ?? '' };
    if (this.stream.isTTY !== true) {
      if (step !== this.lastStep) this.stream.write(`round ${round}: ${step}${p?.detail ? ` (${p.detail})` : ''}\n`);
      this.lastStep = step;
      return;
    }
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream as NodeJS.WritableStream,
          format: `${this.colors.cyan('round {round}')} {step} [{bar}] {amount} {unit} {detail}`,
          hideCursor: false,
          // Cut the line to the terminal's width rather than switch its line wrapping off: a Ctrl-C
          // mid-bar then leaves the terminal as it was.
          linewrap: true,
          clearOnComplete: true,
          barsize: 24,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, done, payload);
    } else {
      if (step !== this.lastStep || this.bar.getTotal() !== total) this.bar.setTotal(total);
      this.bar.update(done, payload);
    }
    this.lastStep = step;
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/** How a waited-for round ended. */
export interface RoundEnd {
  round: number;
  outcome: RoundOutcome;
  /** The round's row from the API. */
  row: RoundRow;
  /** One line for a person. */
  summary: string;
}

/** The loop's status, or null while the project has no loop, or 'busy' for a 503 (a busy Temporal: retried). */
async function statusOf(client: ApiClient, project: number): Promise<LoopStatus | null | 'busy'> {
  try {
    return (await client.status(project)).body;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && !err.missingRoute) return null;
    if (err instanceof ApiError && err.status === 503) return 'busy';
    throw err;
  }
}
/** The loop's round counter now: the next round a request will start is this + 1. */
export async function roundsStartedNow(client: ApiClient, project: number): Promise<number> {
  for (;;) {
    const s = await statusOf(client, project);
    if (s === 'busy') {
      await sleep(1000);
      continue;
    }
    return s?.roundsStarted ?? 0;
  }
}

/**
 * Waits for round `round` of `project` to finish. Rounds run one at a time, so it has finished
 * once the loop has started a later one, or has started it and runs none.
 */
export async function waitForRound(
  client: ApiClient,
  project: number,
  round: number,
  view: RoundProgressView,
  opts: { pollMs?: number; timeoutMs?: number } = {},
): Promise<RoundEnd> {
  const pollMs = opts.pollMs ?? 500;
  const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity;
  let status: LoopStatus | null = null;
  try {
    for (;;) {
      const s = await statusOf(client, project);
      if (s === 'busy') {
        view.show(round, status, 'waiting for Temporal (busy)');
      } else {
        status = s;
        if (status && (status.roundsStarted > round || (status.roundsStarted >= round && status.currentRound === null))) break;
        view.show(round, status);
      }
      if (Date.now() > deadline) throw new ApiError(`round ${round} of project ${project} had not finished after ${Math.round(opts.timeoutMs! / 1000)} s`, 1);
      await sleep(pollMs);
    }
  } finally {
    view.stop();
  }
  return describeEnd(client, project, round);
}

async function describeEnd(client: ApiClient, project: number, round: number): Promise<RoundEnd> {
  const row = (await client.round(project, round)).body;
  const what =
    row.outcome === 'failed'
      ? `failed: ${row.error ? `${row.error.type}: ${row.error.message}` : 'no cause recorded'}`
      : `${row.outcome}${row.modelVersion ? ` ${row.modelVersion}` : ''}${row.evidence ? `: ${row.evidence.reason}` : ''}`;
  return { round, outcome: row.outcome, row, summary: `round ${round} ${what}` };
}
