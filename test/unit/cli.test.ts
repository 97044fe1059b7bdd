import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../cli/program.js';
import { colorsFor, renderFields, renderTable, duration, type OutStream } from '../../cli/output.js';
import { formatRound, formatRounds, formatStatus, progressText } from '../../cli/format.js';
import { RoundProgressView } from '../../cli/progress.js';
import type { LoopStatus, RoundRow } from '../../cli/apiTypes.js';
import { loadConfig, REPO_ROOT } from '../../worker/config.js';
import { startFakeApi, type FakeApi } from '../helpers/fakeApi.js';

const ESC = '\x1b[';

function capture(isTTY = false, columns?: number) {
  const stream = { text: '', isTTY, columns, write(s: string) { stream.text += s; return true; } };
  return stream;
}

/** Runs `label-loop …` in this process with captured output and configuration from `env` only. */
async function run(argv: string[], env: Record<string, string> = {}, tty = false) {
  const stdout = capture(tty, tty ? 120 : undefined);
  const stderr = capture(tty, tty ? 120 : undefined);
  const code = await main(argv, { io: { stdout, stderr }, load: (d) => loadConfig(env, d) });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Every command path: ['status'], ['rounds'], ['rounds', 'list'], … */
function commandPaths(cmd: Command, prefix: string[] = []): string[] {
  return cmd.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [[...prefix, c.name()].join(' '), ...commandPaths(c, [...prefix, c.name()])]);
}

describe('label-loop: help and usage errors', () => {
  const program = buildProgram({ io: { stdout: capture(), stderr: capture() }, load: () => loadConfig({}) });
  const paths = commandPaths(program);

  it('has every command of the issue', () => {
    expect(paths).toEqual(
      expect.arrayContaining([
        'status',
        'rounds list',
        'rounds show',
        'rounds replay',
        'train',
        'schedule set',
        'schedule list',
        'schedule pause',
        'schedule resume',
        'schedule trigger',
        'schedule delete',
        'models list',
        'models promote',
        'models rollback',
        'connect',
        'stack',
        'worker',
        'api',
        'demo',
      ]),
    );
  });

  it.each(paths)('label-loop %s --help exits 0 and prints its usage', async (path) => {
    const r = await run([...path.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: label-loop ${path}`);
    expect(r.stderr).toBe('');
  });

  it('documents the exit codes in the top-level help and on operator commands', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Exit codes:\n\s+0 {2}done[\s\S]+1 {2}failure[\s\S]+2 {2}usage/);
    expect((await run(['rounds', 'list', '--help'])).stdout).toMatch(/Exit codes: 0 ok, 1 failure .*2 usage/);
  });

  it.each([
    [['bogus']],
    [['rounds', 'bogus', '1']],
    [['status', '1', '--bogus']],
    [['models', 'list']],
    [['status', '0']],
    [['status', 'one']],
    [['train', '1', '--epochs', 'many']],
    [['train', '1', '--learning-rate', '-1']],
    [['rounds', 'list', '1', '--outcome', 'weird']],
    [['rounds', 'list', '1', '--limit', '0']],
    [['rounds', 'show', '1']],
    [['schedule', 'set', '1']],
    [['schedule', 'set', '1', '--every', '1h', '--cron', '0 * * * *']],
    [['models', 'promote', '1', 'r3-abc']],
    [['models', 'rollback', '1']],
    [['status', '1', '--url', 'ftp://example.org']],
    [['train', '1', '--wait', '--timeout', 'soon']],
    [['rounds']],
  ])('label-loop %j is a usage error: exit 2 and a message on stderr', async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.length).toBeGreaterThan(0);
  });

  it('a configuration error is exit 2 naming the variable', async () => {
    const r = await run(['status', '1'], { LABEL_LOOP_PORT: 'nine' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/configuration error: LABEL_LOOP_PORT="nine"/);
  });

  it('`npm run connect -- --help` prints help, not a stack trace (real process)', () => {
    const r = spawnSync('npm', ['run', '--silent', 'connect', '--', '--help'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: label-loop connect');
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});

/**
 * Replies typed by the modules that produce them (cli/apiTypes.ts), for the pure formatting and
 * progress tests and for the error-handling tests around them. What the CLI shows of real
 * replies is checked against the real API in test/integration/cli.integration.test.ts.
 */
const status = (over: Partial<LoopStatus> = {}): LoopStatus => ({
  projectId: 1,
  phase: 'idle',
  pendingAnnotations: 0,
  pendingTasks: 0,
  trainingRequested: false,
  followUpDue: false,
  currentRound: null,
  roundsStarted: 3,
  championVersion: 'r3-3f2a9c1e',
  lastRound: null,
  lastError: null,
  lastErrorRound: null,
  nextRoundAt: null,
  settings: { minAnnotations: 10, quietPeriodMs: 5000, maxWaitMs: 120000, mode: 'continuous' },
  queued: [],
  progress: null,
  ...over,
});
const row = (over: Partial<RoundRow> = {}): RoundRow => ({
  projectId: 1,
  round: 3,
  workflowId: 'label-loop-project-1-round-3',
  runId: 'run-1',
  trigger: 'annotations',
  outcome: 'promoted',
  error: null,
  modelVersion: 'r3-3f2a9c1e',
  snapshotId: 's3',
  trainCount: 960,
  replayOf: null,
  replayedBy: null,
  evidence: { reason: 'promoted: macroF1 0.9120 > champion r2-aa11bb22 0.8870 + margin 0' },
  steps: { reconcile: { ms: 120 }, train: { ms: 30_000 } },
  progress: null,
  startedAt: '2025-01-02T10:00:00.000Z',
  finishedAt: '2025-01-02T10:00:42.500Z',
  ...over,
});
const failed = (round = 2): RoundRow =>
  row({ round, outcome: 'failed', modelVersion: null, evidence: null, error: { type: 'NotEnoughLabels', message: 'only 4 training labels; a round needs at least 8' } });

describe('label-loop operator commands: errors of the API and of the network', () => {
  let api: FakeApi;
  const u = () => ['--url', api.url];
  beforeAll(async () => {
    api = await startFakeApi();
  });
  afterAll(async () => api?.close());
  beforeEach(() => api.reset());

  it('sends Basic auth from LABEL_LOOP_BASIC_AUTH_USER/PASSWORD and uses LABEL_LOOP_URL; without them the 401 says which variables to set', async () => {
    const good = `Basic ${Buffer.from('ops:pw').toString('base64')}`;
    api.on('GET /api/projects/1/status', (req) => (req.headers.authorization === good ? { body: status() } : { status: 401, body: { error: 'authorization: missing or wrong credentials' } }));
    const ok = await run(['status', '1', '--json'], { LABEL_LOOP_URL: api.url, LABEL_LOOP_BASIC_AUTH_USER: 'ops', LABEL_LOOP_BASIC_AUTH_PASSWORD: 'pw' });
    expect(ok.code).toBe(0);
    expect(api.requests[0].headers.authorization).toBe(good);
    const refused = await run(['status', '1'], { LABEL_LOOP_URL: api.url });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/wants credentials: set LABEL_LOOP_BASIC_AUTH_USER and LABEL_LOOP_BASIC_AUTH_PASSWORD/);
  });

  it.each([
    [401, { error: 'authorization: missing or wrong credentials' }, 2, /wants credentials: set LABEL_LOOP_BASIC_AUTH_USER and LABEL_LOOP_BASIC_AUTH_PASSWORD/],
    [400, { error: 'limit: must be an integer from 1 to 1000' }, 2, /refused the request: limit: must be an integer from 1 to 1000/],
    [404, { error: 'project 1 has no running loop (none started yet, or it was terminated)' }, 1, /: project 1 has no running loop/],
    [503, { error: 'Temporal is unavailable; retry later' }, 1, /cannot answer now: Temporal is unavailable; retry later \(retry after 5 s\)/],
    [500, { error: 'internal error' }, 1, /answered 500: internal error/],
  ])('an API %i is exit %i with the API\'s message', async (code, body, exit, message) => {
    api.on('GET /api/projects/1/status', { status: code, body, headers: code === 503 ? { 'retry-after': '5' } : {} });
    const r = await run(['status', '1', ...u()]);
    expect(r.code).toBe(exit);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('--wait rides out a 503 while it polls (Temporal busy), then reports the round\'s row; exit 1 when it failed', async () => {
    let requested = false;
    let polls = 0;
    api.on('POST /api/projects/1/rounds', () => {
      requested = true;
      return { status: 202, body: { status: 'requested', project: 1 } };
    });
    api.on('GET /api/projects/1/status', () => {
      if (!requested) return { body: status() };
      polls++;
      if (polls === 1) return { body: status({ phase: 'training', roundsStarted: 4, currentRound: 4, progress: { step: 'train', done: 5, total: 20, unit: 'epochs', detail: 'epoch 5 of 20' } }) };
      if (polls === 2) return { status: 503, body: { error: 'Temporal is unavailable; retry later' } };
      return { body: status({ roundsStarted: 4 }) };
    });
    api.on('GET /api/projects/1/rounds/4', { body: failed(4) });
    const r = await run(['train', '1', '--wait', '--json', ...u()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('round 4: train (epoch 5 of 20)');
    expect(r.stderr).toContain('round 4: waiting for Temporal (busy)');
    expect(r.stderr).toMatch(/round 4 of project 1 failed/);
    expect(JSON.parse(r.stdout)).toEqual(failed(4));
  });

  it('a route the running Label Loop does not have (an older API) is named as such (exit 1)', async () => {
    const r = await run(['rounds', 'list', '1', ...u()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no GET \/api\/projects\/1\/rounds: it is older than this command/);
  });
});

describe('progress of a waited-for round', () => {
  const training = (done: number, total = 20) => status({ phase: 'training', roundsStarted: 4, currentRound: 4, progress: { step: 'train', done, total, unit: 'epochs', detail: `epoch ${done} of ${total}` } });

  it('draws the status\'s progress as a bar on a terminal', () => {
    const err = capture(true, 120);
    const view = new RoundProgressView(err, colorsFor(err, false));
    view.show(4, training(5));
    view.show(4, training(10));
    view.stop();
    expect(err.text).toMatch(/round 4 train \[[^\]]*\] (5|10)\/20 epochs epoch (5|10) of 20/);
  });

  it('a step of unknown size (total 0) shows its count, and another round\'s progress is not shown as this one\'s', () => {
    const err = capture(true, 120);
    const view = new RoundProgressView(err, colorsFor(err, false));
    view.show(4, status({ phase: 'training', roundsStarted: 4, currentRound: 4, progress: { step: 'push', done: 1500, total: 0, unit: 'predictions', detail: '' } }));
    view.stop();
    expect(err.text).toMatch(/round 4 push \[[^\]]*\] 1500 predictions/);
    const lines = capture(false);
    const plain = new RoundProgressView(lines, colorsFor(lines, false));
    plain.show(5, training(5));
    expect(lines.text).toBe('round 5: waiting to start\n');
    expect(progressText({ step: 'reconcile', done: 3, total: 0, unit: 'pages', detail: "page 3 of Label Studio's tasks" })).toBe("reconcile 3 pages (page 3 of Label Studio's tasks)");
  });
});

describe('output', () => {
  it('aligns columns, right-aligns numbers, cuts the last column to the terminal', () => {
    const t = renderTable([{ header: 'N', align: 'right' }, 'NAME', 'NOTE'], [['1', 'alpha', 'short'], ['100', 'b', 'a much longer note that goes on']], { maxWidth: 30 });
    expect(t).toBe(['  N  NAME   NOTE', '  1  alpha  short', '100  b      a much longer not…', ''].join('\n'));
  });

  it('measures coloured cells by what the terminal shows', () => {
    const c = colorsFor({ write: () => true, isTTY: true }, true);
    const t = renderTable(['A', 'B'], [[c.green('ok'), 'x'], ['failed', 'y']]);
    expect(t.split('\n')[1]).toBe(`${c.green('ok')}      x`);
  });

  it.each([
    [false, true, false],
    [true, false, false],
    [true, true, true],
  ])('colours: terminal %s, environment allows %s → %s', (isTTY, allows, coloured) => {
    const stream: OutStream = { write: () => true, isTTY };
    expect(colorsFor(stream, allows).red('x').includes(ESC)).toBe(coloured);
  });

  it.each([
    [{ NO_COLOR: '1', FORCE_COLOR: '1' }, 'false'],
    [{ FORCE_COLOR: '1' }, 'true'],
  ])('the environment decides with NO_COLOR winning: %j → %s', (env, expected) => {
    const r = spawnSync(process.execPath, ['-e', "import('picocolors').then((p) => process.stdout.write(String(p.default.isColorSupported)))"], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
    });
    expect(r.stdout.trim()).toBe(expected);
  });

  it('commands print no colour when stdout is not a terminal', async () => {
    const plain = { colors: colorsFor({ write: () => true, isTTY: false }) };
    const out = formatRounds([row(), failed()], plain);
    expect(out).not.toContain(ESC);
    expect(out).toMatch(/NotEnoughLabels: only 4 training labels/);
    expect(formatStatus(status({ lastError: 'boom' }), plain)).not.toContain(ESC);
    expect(formatRound(row({ outcome: 'running', finishedAt: null, evidence: null, steps: {}, progress: { step: 'train', done: 3, total: 40, unit: 'epochs', detail: 'epoch 3 of 40' } }), plain)).toMatch(
      /^progress\s+train 3\/40 epochs \(epoch 3 of 40\)$/m,
    );
  });

  it('fields and durations', () => {
    expect(renderFields([['a', '1'], ['long key', '2']])).toBe('a         1\nlong key  2\n');
    expect([duration(850), duration(42_500), duration(125_000), duration(7_260_000), duration(null)]).toEqual(['850 ms', '42.5 s', '2m05s', '2h01m', '–']);
  });
});
