/**
 * The operator commands: status, rounds, train, schedule, models. Each calls a running Label
 * Loop's HTTP API (apiClient.ts), prints a readable view (format.ts) or, with `--json`, the
 * API's JSON reply as it came.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Config } from '../worker/config.js';
import { ApiClient, ApiError, type ApiReply } from './apiClient.js';
import type { RoundOutcome, ScheduleInfo, ScheduleRequest, TrainOverrides } from './apiTypes.js';
import { formatModels, formatProjects, formatRound, formatRounds, formatSchedule, formatSchedules, formatStatus, outcomeColor, type View } from './format.js';
import { colorsFor, type Io } from './output.js';
import { RoundProgressView, roundsStartedNow, waitForRound, type RoundEnd } from './progress.js';

/** The command line asked for something impossible (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OperatorContext {
  load: () => Config;
  io: Io;
}

interface RemoteOptions {
  url?: string;
  json?: boolean;
}

const ROUND_OUTCOMES: RoundOutcome[] = ['running', 'promoted', 'rejected', 'failed', 'replayed'];

export const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return n;
};
const nonNegativeInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${what} must be an integer ≥ 0`);
  return n;
};
const positiveNumber = (what: string) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a number > 0`);
  return n;
};
const nonNegativeNumber = (what: string) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what} must be a number ≥ 0`);
  return n;
};
const httpUrl = (value: string) => {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be an http:// or https:// URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('must be an http:// or https:// URL');
  return value.replace(/\/+$/, '');
};
/** Seconds of waiting, e.g. 600. */
const seconds = (value: string) => positiveInt('--timeout')(value) * 1000;

export function addOperatorCommands(program: Command, ctx: OperatorContext): void {
  const { io } = ctx;
  const view = (): View => ({ colors: colorsFor(io.stdout), width: io.stdout.isTTY ? io.stdout.columns : undefined });
  const client = (o: RemoteOptions) => {
    const config = ctx.load();
    return new ApiClient({ baseUrl: o.url ?? config.cli.apiUrl, basicAuth: config.security.basicAuth });
  };
  /** The reply as it came (--json) or as a person reads it. */
  const show = <T>(o: RemoteOptions, reply: ApiReply<T>, human: (body: T, v: View) => string) => {
    if (o.json) io.stdout.write(reply.text.endsWith('\n') || reply.text === '' ? reply.text : `${reply.text}\n`);
    else io.stdout.write(human(reply.body, view()));
  };
  /** Adds --url and --json, and an example to the help. */
  const remote = (cmd: Command, ...examples: string[]) =>
    cmd
      .option('--url <url>', 'Label Loop API (default LABEL_LOOP_URL, else http://LABEL_LOOP_HOST:LABEL_LOOP_PORT)', httpUrl)
      .option('--json', "print the API's JSON reply as it is (for scripts)")
      .addHelpText(
        'after',
        `${examples.length ? `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  ${e}`).join('\n')}\n` : ''}` +
          '\nExit codes: 0 ok, 1 failure (unreachable, 503, 404, 409, 5xx, a failed round with --wait), 2 usage (bad arguments, configuration, 400, 401/403).',
      );
  const waitOption = (cmd: Command) =>
    cmd
      .option('--wait', 'wait until the round has finished, showing its progress; exit 1 if it failed')
      .option('--timeout <seconds>', 'with --wait: give up (exit 1) after this many seconds', seconds);

  /** After a request that starts round `round`: wait for it if asked, and print its end. */
  const finish = async (c: ApiClient, project: number, round: number, o: RemoteOptions & { wait?: boolean; timeout?: number }) => {
    if (!o.wait) return;
    const end: RoundEnd = await waitForRound(c, project, round, new RoundProgressView(io.stderr, colorsFor(io.stderr)), { timeoutMs: o.timeout });
    if (o.json) io.stdout.write(`${JSON.stringify(end.row)}\n`);
    else io.stdout.write(`${end.summary.replace(end.outcome, outcomeColor(end.outcome, view().colors))}\n`);
    if (end.outcome === 'failed') throw new ApiError(`round ${round} of project ${project} failed`, 1);
  };
  const said = (o: RemoteOptions, line: string) => {
    if (!o.json) io.stdout.write(`${line}\n`);
  };

  // --- status -------------------------------------------------------------------------------
  remote(
    program
      .command('status')
      .description("a project's loop: phase, running round and its progress, champion, pending labels, last round, settings; without a project, every project")
      .argument('[project]', 'Label Studio project id', positiveInt('project')),
    'label-loop status 1',
    'label-loop status --json | jq .',
  ).action(async (project: number | undefined, o: RemoteOptions) => {
    const c = client(o);
    if (project === undefined) show(o, await c.projects(), (b, v) => formatProjects(b.projects, v));
    else show(o, await c.status(project), (b, v) => formatStatus(b, v));
  });

  // --- rounds -------------------------------------------------------------------------------
  const rounds = program.command('rounds').description("a project's training rounds: list, show, replay");
  remote(
    rounds
      .command('list')
      .description('rounds, newest first: outcome, trigger, model, labels, time; the root cause of failed rounds, the evidence of decided ones')
      .argument('<project>', 'Label Studio project id', positiveInt('project'))
      .addOption(new Option('--outcome <outcome>', 'only rounds with this outcome').choices(ROUND_OUTCOMES))
      .option('--limit <n>', 'at most this many rounds', positiveInt('--limit'), 20),
    'label-loop rounds list 1 --outcome failed --limit 5',
  ).action(async (project: number, o: RemoteOptions & { outcome?: RoundOutcome; limit: number }) => {
    show(o, await client(o).rounds(project, { outcome: o.outcome, limit: o.limit }), (b, v) => formatRounds(b.rounds, v));
  });
  remote(
    rounds
      .command('show')
      .description("one round: outcome, root cause or evidence, model, snapshot, each step's time, its workflow")
      .argument('<project>', 'Label Studio project id', positiveInt('project'))
      .argument('<round>', 'round number', positiveInt('round')),
    'label-loop rounds show 1 7',
  ).action(async (project: number, round: number, o: RemoteOptions) => {
    show(o, await client(o).round(project, round), (b, v) => formatRound(b, v));
  });
  remote(
    waitOption(
      rounds
        .command('replay')
        .description('run a round again (a failed one, after fixing its cause): on the same snapshot, or on a fresh one with --fresh')
        .argument('<project>', 'Label Studio project id', positiveInt('project'))
        .argument('<round>', 'round number', positiveInt('round'))
        .option('--fresh', 'take a fresh snapshot of the labels instead of the round\'s own')
        .option('--reason <text>', 'why (kept with the round)'),
    ),
    'label-loop rounds replay 1 7 --wait',
  ).action(async (project: number, round: number, o: RemoteOptions & { fresh?: boolean; reason?: string; wait?: boolean; timeout?: number }) => {
    const c = client(o);
    const before = o.wait ? await roundsStartedNow(c, project) : 0;
    const reply = await c.replay(project, round, { fresh: o.fresh === true, ...(o.reason ? { reason: o.reason } : {}) });
    if (!o.wait) return show(o, reply, () => `replay of round ${round} of project ${project} requested${o.fresh ? ' (fresh snapshot)' : ''}\n`);
    said(o, `replay of round ${round} of project ${project} requested${o.fresh ? ' (fresh snapshot)' : ''}: round ${before + 1}`);
    await finish(c, project, before + 1, o);
  });

  // --- train --------------------------------------------------------------------------------
  remote(
    waitOption(
      program
        .command('train')
        .description('request a training round now (starts the loop if it is not running)')
        .argument('<project>', 'Label Studio project id', positiveInt('project'))
        .option('--reason <text>', 'why (kept with the round)', 'label-loop train')
        .option('--epochs <n>', 'override: most training passes (it stops earlier once converged)', nonNegativeInt('--epochs'))
        .option('--tolerance <x>', 'override: convergence tolerance (0: run every epoch)', nonNegativeNumber('--tolerance'))
        .option('--cost <x>', 'override: the SVM cost C', positiveNumber('--cost'))
        .option('--seed <n>', 'override: training seed', nonNegativeInt('--seed')),
    ),
    'label-loop train 1 --wait',
    'label-loop train 1 --epochs 40 --reason "more epochs"',
  ).action(async (project: number, o: RemoteOptions & { reason: string; wait?: boolean; timeout?: number; cost?: number } & TrainOverrides) => {
    const c = client(o);
    const overrides: TrainOverrides = {};
    for (const k of ['epochs', 'tolerance', 'seed'] as const) if (o[k] !== undefined) overrides[k] = o[k];
    if (o.cost !== undefined) overrides.C = o.cost;
    const before = o.wait ? await roundsStartedNow(c, project) : 0;
    const reply = await c.requestRound(project, { reason: o.reason, ...(Object.keys(overrides).length ? { overrides } : {}) });
    if (!o.wait) return show(o, reply, () => `round requested for project ${project} (label-loop status ${project} to follow it)\n`);
    said(o, `round ${before + 1} of project ${project} requested`);
    await finish(c, project, before + 1, o);
  });

  // --- schedule -----------------------------------------------------------------------------
  const schedule = program.command('schedule').description('rounds on a timetable (Temporal schedules): set, list, pause, resume, trigger, delete');
  remote(
    schedule
      .command('set')
      .description('create or replace a schedule of rounds: --every or --cron')
      .argument('<project>', 'Label Studio project id', positiveInt('project'))
      .addOption(new Option('--every <interval>', 'a round every interval, e.g. 30m, 1h, 1d').conflicts('cron'))
      .addOption(new Option('--cron <expression>', 'a round at these times, e.g. "0 * * * *"').conflicts('every'))
      .option('--timezone <zone>', 'IANA time zone of --cron, e.g. Europe/Paris')
      .option('--jitter <interval>', 'start up to this much later at random, e.g. 5m')
      .option('--id <id>', 'schedule id within the project, e.g. nightly (default: chosen by Label Loop)')
      .option('--note <text>', 'a note kept with the schedule'),
    'label-loop schedule set 1 --every 1h',
    'label-loop schedule set 1 --cron "0 2 * * *" --timezone Europe/Paris --jitter 5m --id nightly',
  ).action(async (project: number, o: RemoteOptions & { every?: string; cron?: string; timezone?: string; jitter?: string; id?: string; note?: string }) => {
    if (!o.every && !o.cron) throw new UsageError('schedule set: give --every <interval> or --cron <expression>');
    const spec: ScheduleRequest = Object.fromEntries(Object.entries({ id: o.id, every: o.every, cron: o.cron, timezone: o.timezone, jitter: o.jitter, note: o.note }).filter(([, v]) => v !== undefined));
    show(o, await client(o).createSchedule(project, spec), (b, v) => formatSchedule(b, v));
  });
  remote(
    schedule
      .command('list')
      .description("a project's schedules: when, paused or active, next and last run")
      .argument('<project>', 'Label Studio project id', positiveInt('project')),
    'label-loop schedule list 1',
  ).action(async (project: number, o: RemoteOptions) => {
    show(o, await client(o).schedules(project), (b, v) => formatSchedules(b.schedules, v));
  });

  /** The schedule id: given, or the project's only schedule. */
  const scheduleId = async (c: ApiClient, project: number, id: string | undefined): Promise<string> => {
    if (id) return id;
    const { schedules } = (await c.schedules(project)).body;
    if (schedules.length === 1) return schedules[0].id;
    if (schedules.length === 0) throw new ApiError(`project ${project} has no schedule`, 1, 404);
    throw new UsageError(`project ${project} has ${schedules.length} schedules (${schedules.map((s: ScheduleInfo) => s.id).join(', ')}): name one`);
  };
  const scheduleAction = (
    name: string,
    description: string,
    run: (c: ApiClient, project: number, id: string, o: RemoteOptions & { note?: string }) => Promise<void>,
    extra: (cmd: Command) => Command = (cmd) => cmd,
  ) =>
    remote(
      extra(
        schedule
          .command(name)
          .description(`${description} (the id may be left out when the project has one schedule)`)
          .argument('<project>', 'Label Studio project id', positiveInt('project'))
          .argument('[id]', 'schedule id'),
      ),
      `label-loop schedule ${name} 1 nightly`,
    ).action(async (project: number, id: string | undefined, o: RemoteOptions & { note?: string }) => {
      const c = client(o);
      await run(c, project, await scheduleId(c, project, id), o);
    });

  scheduleAction(
    'pause',
    'pause a schedule',
    async (c, project, id, o) => show(o, await c.pauseSchedule(project, id, o.note), (b, v) => formatSchedule(b, v)),
    (cmd) => cmd.option('--note <text>', 'why (shown in schedule list)'),
  );
  scheduleAction('resume', 'resume a paused schedule', async (c, project, id, o) => show(o, await c.resumeSchedule(project, id), (b, v) => formatSchedule(b, v)));
  scheduleAction('trigger', "run a schedule's round now", async (c, project, id, o) =>
    show(o, await c.triggerSchedule(project, id), () => `schedule ${id} of project ${project} triggered\n`),
  );
  scheduleAction('delete', 'delete a schedule', async (c, project, id, o) => show(o, await c.deleteSchedule(project, id), () => `schedule ${id} of project ${project} deleted\n`));

  // --- models -------------------------------------------------------------------------------
  const models = program.command('models').description("a project's models: list, promote, rollback");
  remote(
    models
      .command('list')
      .description('every model, oldest first: status, accuracy and macro-F1 cross-validated on the audit items, the promotion decision')
      .argument('<project>', 'Label Studio project id', positiveInt('project')),
    'label-loop models list 1',
  ).action(async (project: number, o: RemoteOptions) => {
    show(o, await client(o).models(project), (b, v) => formatModels(b.models, v));
  });
  remote(
    waitOption(
      models
        .command('promote')
        .description('make a model the champion, whatever the promotion rule says (its predictions are pushed to Label Studio)')
        .argument('<project>', 'Label Studio project id', positiveInt('project'))
        .argument('<version>', 'model version (label-loop models list)')
        .requiredOption('--reason <text>', 'why (kept in the audit trail)'),
    ),
    'label-loop models promote 1 r7-3f2a9c1e --reason "better on the new classes"',
  ).action(async (project: number, version: string, o: RemoteOptions & { reason: string; wait?: boolean; timeout?: number }) => {
    const c = client(o);
    const before = o.wait ? await roundsStartedNow(c, project) : 0;
    const reply = await c.promote(project, version, o.reason);
    if (!o.wait) return show(o, reply, () => `promotion of ${version} requested for project ${project}\n`);
    said(o, `promotion of ${version} requested for project ${project}: round ${before + 1}`);
    await finish(c, project, before + 1, o);
  });
  remote(
    waitOption(
      models
        .command('rollback')
        .description('make the previous champion the champion again')
        .argument('<project>', 'Label Studio project id', positiveInt('project'))
        .requiredOption('--reason <text>', 'why (kept in the audit trail)'),
    ),
    'label-loop models rollback 1 --reason "annotators report worse suggestions"',
  ).action(async (project: number, o: RemoteOptions & { reason: string; wait?: boolean; timeout?: number }) => {
    const c = client(o);
    const before = o.wait ? await roundsStartedNow(c, project) : 0;
    const reply = await c.rollback(project, o.reason);
    if (!o.wait) return show(o, reply, (b) => `rollback requested for project ${project}${b.version ? ` (to ${b.version})` : ''}\n`);
    said(o, `rollback requested for project ${project}${reply.body.version ? ` (to ${reply.body.version})` : ''}: round ${before + 1}`);
    await finish(c, project, before + 1, o);
  });
}
