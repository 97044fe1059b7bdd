import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, uniqueProjectId, waitFor, type Harness } from '../helpers/harness.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';
import { REPO_ROOT } from '../../worker/config.js';
import { startProjectLoop } from '../../worker/loopStarter.js';
import { startStory, type Story } from '../../worker/story.js';
import { roundWorkflowId, scheduleIdOf } from '../../contract/index.js';

// Rounds start only on request, so each step decides when one runs.
const ON_DEMAND_ONLY = { LABEL_LOOP_MIN_ANNOTATIONS: '1000000', LABEL_LOOP_MAX_WAIT_MS: '86400000' };

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The CLI as an operator runs it, as a child process, against the real API, Temporal and
 * PostgreSQL: every table and line below is made from real rounds (a real failed round is a
 * round workflow terminated mid-training), real schedules and real model versions.
 */
describe('label-loop as a real child process against a running Label Loop (real Temporal and PostgreSQL)', () => {
  let h: Harness;
  let story: Story;
  const storyLines: { msg: string; story?: Record<string, unknown>; level: number }[] = [];
  // A fixed id for the trained project: the held-out split hashes it (stable metrics, like round.integration).
  const trained = 515_151;
  const starved = uniqueProjectId();
  const p = String(trained);

  const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH, HOME: process.env.HOME, LABEL_LOOP_URL: h.api.url, ...extra });

  /** `node --import tsx cli/main.ts …` with only the environment an operator would have. */
  const cli = (args: string[], extra: Record<string, string> = {}, timeoutMs = 240_000): Promise<CliRun> => run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], env(extra), timeoutMs);

  /**
   * The same on a terminal: `script` (util-linux) gives the command a pseudo-terminal of 120
   * columns, so the CLI draws its progress bar and colours. stdout and stderr both arrive on the
   * terminal, i.e. on script's stdout.
   */
  const onTerminal = (args: string[]): Promise<CliRun> =>
    run(
      'script',
      ['-q', '-e', '-c', `stty cols 120 rows 40; exec ${[process.execPath, '--import', 'tsx', 'cli/main.ts', ...args].map(shellQuote).join(' ')}`, '/dev/null'],
      { ...env(), TERM: 'xterm-256color' },
      240_000,
    );

  const run = (command: string, args: string[], childEnv: Record<string, string | undefined>, timeoutMs: number): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`label-loop ${args.join(' ')} did not end within ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });

  // Task and annotation ids are unique per Label Studio instance: each project its own block.
  const seed = async (projectId: number, labels: number, firstId: number) => {
    const { tasks, labelOf } = spamTasks(300, firstId);
    expect((await h.post('/setup', { project: `${projectId}.1700000000`, schema: SPAM_CONFIG })).status).toBe(200);
    expect((await h.post('/webhook', tasksCreated(projectId, tasks))).status).toBe(200);
    let annotationId = firstId;
    for (const t of tasks.slice(0, labels)) {
      expect((await h.post('/webhook', annotationEvent('ANNOTATION_CREATED', projectId, t, annotationId++, [labelOf.get(t.id)!]))).status).toBe(200);
    }
  };
  const api = async (path: string) => {
    const res = await h.get(path);
    expect(res.status).toBe(200);
    return res.body;
  };
  const row = async (round: number) => api(`/api/projects/${trained}/rounds/${round}`);
  /** The round the loop runs now, once it is training (its status carries the train step's progress). */
  const training = (round: number) =>
    waitFor(`round ${round} to train`, async () => {
      const s = (await h.get(`/api/projects/${trained}/status`)).body;
      return s.currentRound === round && s.progress?.step === 'train' ? s : undefined;
    }, 60_000, 50);
  const finished = (round: number) => waitFor(`round ${round} to finish`, async () => {
    const r = await h.get(`/api/projects/${trained}/rounds/${round}`);
    return r.status === 200 && r.body.outcome !== 'running' ? r.body : undefined;
  }, 180_000, 200);

  beforeAll(async () => {
    h = await createHarness({ env: ON_DEMAND_ONLY });
    await seed(trained, 120, 1);
    await seed(starved, 5, 10_000);
    // Every label reaches the loops before the first request: one arriving during a round would earn a follow-up round.
    await waitFor('the outbox to drain', async () => (await h.db.query('SELECT 1 FROM webhook_events WHERE forwarded_at IS NULL LIMIT 1')).rowCount === 0);
    // The stack's console story, on the same task queue (what `npm run stack` prints).
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) storyLines.push(JSON.parse(line));
        done();
      },
    });
    story = startStory({ client: h.client, taskQueue: h.config.temporal.taskQueue, log: pino({ level: 'info' }, sink), pollMs: 300 });
  });
  afterAll(async () => {
    await story?.stop();
    // Schedules outlive their loops: leave none on the shared Temporal server.
    for (const id of ['nightly', 'hourly']) await h?.client.schedule.getHandle(scheduleIdOf(trained, id)).delete().catch(() => undefined);
    await h?.close();
  });

  it('status of a project with no loop yet: the API\'s 404 message, exit 1', async () => {
    const unknown = uniqueProjectId();
    const r = await cli(['status', String(unknown)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`label-loop: Label Loop at ${h.api.url}: project ${unknown} has no running loop`);
  });

  it('train --wait: requests a round, follows the status\'s progress of its steps, prints the outcome, exit 0', async () => {
    const r = await cli(['train', p, '--wait', '--epochs', '300', '--reason', 'cli test']);
    expect(r.stderr).not.toMatch(/label-loop:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^round 1 of project 515151 requested\nround 1 promoted r1-[0-9a-f]{8}: promoted: more labels, not significantly worse; \w+ [-+][\d.]+ .* vs the majority baseline/);
    // Not a terminal: one progress line per step on stderr (the status's progress: step and detail), none on stdout.
    expect(r.stderr).toMatch(/^round 1: train \(epoch \d+ of 300, loss \d+\.\d{3} \(\d+ labels\)\)$/m);
    expect((await row(1)).trigger).toBe('requested');
  });

  it('status: readable, and --json is exactly the API\'s reply', async () => {
    const human = await cli(['status', p]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^phase\s+idle$/m);
    expect(human.stdout).toMatch(/^champion\s+r1-[0-9a-f]{8}$/m);
    expect(human.stdout).toMatch(/^last round\s+1: promoted r1-/m);
    expect(human.stdout).toMatch(/^settings\s+continuous mode, min 1000000 labels, quiet 5\.0 s, max wait 24h00m$/m);
    expect(human.stdout).not.toContain('\x1b[');

    const json = await cli(['status', p, '--json']);
    expect(json.code).toBe(0);
    const fromCli = JSON.parse(json.stdout);
    const fromApi = (await h.get(`/api/projects/${trained}/status`)).body;
    expect(fromCli).toEqual({ ...fromApi, nextRoundAt: fromCli.nextRoundAt });
    expect(fromCli).toMatchObject({ championVersion: expect.stringMatching(/^r1-/), progress: null });
  });

  it('status without a project: every project, with its champion, labels and last round; --json is GET /api/projects', async () => {
    const r = await cli(['status']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s*PROJECT\s+CHAMPION\s+TASKS\s+LABELLED\s+MODE\s+SAMPLING\s+LAST ROUND$/);
    expect(lines).toContainEqual(expect.stringMatching(/^\s*515151\s+r1-[0-9a-f]{8}\s+300\s+120\s+continuous\s+\S+\s+1 promoted /));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\s*${starved}\\s+–\\s+300\\s+5\\s+continuous\\s+\\S+\\s+–\\s*$`)));
    const json = await cli(['status', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(await api('/api/projects'));
  });

  it('models list: a table with the champion; --json parses to the API\'s reply', async () => {
    const r = await cli(['models', 'list', p]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION\s+STATUS\s+ACCURACY\s+MACRO-F1\s+AUDIT N\s+TRAINED IN\s+CREATED\s+DECISION$/);
    expect(lines[1]).toMatch(/^r1-[0-9a-f]{8}\s+champion\s+0\.\d{3}\s+0\.\d{3}\s+\d+\s+(\d+ ms|[\d.]+ s|\d+m\d\ds)\s+.*promoted: /);
    const json = await cli(['models', 'list', p, '--json']);
    expect(JSON.parse(json.stdout)).toEqual(await api(`/api/projects/${trained}/models`));
  });

  it('train --wait on a project with too few labels: the root cause, exit 1', async () => {
    const r = await cli(['train', String(starved), '--wait']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/round 1 failed: NotEnoughLabels: project \d+ has \d labelled tasks; a round needs at least 8 \(label more tasks\)/);
    expect(r.stderr).toMatch(/label-loop: round 1 of project \d+ failed/);
  });

  it('a round stopped mid-training: status shows its live progress; rounds list and show give the root cause from the rounds table', async () => {
    const requested = await cli(['train', p, '--epochs', '50000', '--tolerance', '0', '--reason', 'to be stopped']);
    expect(requested).toMatchObject({ code: 0, stdout: `round requested for project ${trained} (label-loop status ${trained} to follow it)\n` });
    await training(2);
    const live = await cli(['status', p]);
    expect(live.stdout).toMatch(/^phase\s+training round 2: train [\d,]+\/50,000 epochs \(epoch \d+ of 50000, loss /m);
    await h.client.workflow.getHandle(roundWorkflowId(trained, 2)).terminate('operator stopped it (cli test)');
    const failed = await finished(2);
    expect(failed).toMatchObject({ outcome: 'failed', error: { message: expect.stringMatching(/terminated/i) } });

    const list = await cli(['rounds', 'list', p]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ROUND\s+OUTCOME\s+TRIGGER\s+MODEL\s+LABELS\s+STARTED\s+TOOK\s+DETAIL$/);
    expect(lines[1]).toMatch(/^\s+2\s+failed\s+requested\s+–\s+–\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(\d+ ms|[\d.]+ s)\s+\S+: .*terminated/i);
    expect(lines[2]).toMatch(/^\s+1\s+promoted\s+requested\s+r1-[0-9a-f]{8}\s+\d+\s+.*promoted: more labels/);
    expect(lines).toHaveLength(3);

    const onlyFailed = await cli(['rounds', 'list', p, '--outcome', 'failed', '--json']);
    expect(JSON.parse(onlyFailed.stdout)).toEqual(await api(`/api/projects/${trained}/rounds?outcome=failed`));
    expect(JSON.parse(onlyFailed.stdout).rounds.map((r: any) => r.round)).toEqual([2]);

    const show = await cli(['rounds', 'show', p, '2']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^outcome\s+failed$/m);
    expect(show.stdout).toMatch(new RegExp(`^root cause\\s+${failed.error.type}: .*terminated`, 'mi'));
    expect(show.stdout).toMatch(new RegExp(`^workflow\\s+${roundWorkflowId(trained, 2)} \\(run ${failed.runId}\\)$`, 'm'));
    const shown = await cli(['rounds', 'show', p, '1', '--json']);
    expect(JSON.parse(shown.stdout)).toEqual(await row(1));
    expect(JSON.parse(shown.stdout).steps).toHaveProperty('train.ms');
  });

  it('rounds replay --wait (on a terminal): the failed round runs again with a progress bar; the API then shows it replayed', async () => {
    const refused = await cli(['rounds', 'replay', p, '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/answered 409: round 1 did not fail \(promoted\): only a failed round can be replayed/);

    const r = await onTerminal(['rounds', 'replay', p, '2', '--wait', '--reason', 'cli test replay']);
    const screen = stripAnsi(r.stdout);
    expect(r.code, screen).toBe(0);
    expect(screen).toContain(`replay of round 2 of project ${trained} requested: round 3`);
    // The bar: the status's progress of the train step, as `done/total unit detail`.
    expect(screen).toMatch(/round 3 train \[[█░]+\] \d+\/50000 epochs epoch \d+ of 50000, loss /);
    expect(screen).toMatch(/round 3 (promoted|rejected) r3-[0-9a-f]{8}: /);
    expect(r.stdout).toContain('\x1b['); // colours on a terminal

    expect(await row(2)).toMatchObject({ outcome: 'replayed', replayedBy: 3 });
    expect(await row(3)).toMatchObject({ trigger: 'replay', replayOf: 2 });
    const show = await cli(['rounds', 'show', p, '2']);
    expect(show.stdout).toMatch(/^outcome\s+replayed$/m);
    expect(show.stdout).toMatch(/^replayed by\s+3$/m);
  });

  it('models promote --wait and models rollback --wait: a real champion change each, recorded with who and why', async () => {
    const { models, champion } = await api(`/api/projects/${trained}/models`);
    const other = models.find((m: any) => m.hasWeights && m.version !== champion);
    expect(other).toBeDefined();

    const promote = await cli(['models', 'promote', p, other.version, '--reason', 'compare in production', '--wait']);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toBe(
      `promotion of ${other.version} requested for project ${trained}: round 4\n` +
        `round 4 promoted ${other.version}: promoted to ${other.version} by ${userInfo().username}: compare in production\n`,
    );
    expect((await api(`/api/projects/${trained}/models`)).champion).toBe(other.version);
    expect((await api(`/api/projects/${trained}/champions`)).history[0]).toMatchObject({ version: other.version, previousVersion: champion, action: 'promote', actor: userInfo().username, reason: 'compare in production' });

    const rollback = await cli(['models', 'rollback', p, '--reason', 'worse for annotators', '--wait', '--json']);
    expect(rollback.code, rollback.stderr).toBe(0);
    // --json: the finished round's row only.
    expect(JSON.parse(rollback.stdout)).toEqual(await row(5));
    expect(JSON.parse(rollback.stdout)).toMatchObject({ trigger: 'rollback', outcome: 'promoted', modelVersion: champion });
    expect((await api(`/api/projects/${trained}/models`)).champion).toBe(champion);
    expect((await api(`/api/projects/${trained}/champions`)).history[0]).toMatchObject({ version: champion, action: 'rollback', actor: userInfo().username });
  });

  it('schedule set, list, pause, resume, trigger and delete: real Temporal schedules', async () => {
    // Twelve hours from now in Paris, so the schedule does not fire by itself during the test.
    const parisHour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
    const cron = `17 ${(parisHour + 12) % 24} * * *`;
    const set = await cli(['schedule', 'set', p, '--cron', cron, '--timezone', 'Europe/Paris', '--jitter', '5m', '--id', 'nightly', '--note', 'batch of the day']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(new RegExp(`^schedule\\s+nightly of project ${trained}$`, 'm'));
    expect(set.stdout).toMatch(new RegExp(`^when\\s+cron "${cron.replace(/\*/g, '\\*')}" Europe/Paris ±5m$`, 'm'));
    expect(set.stdout).toMatch(/^state\s+active$/m);
    expect(set.stdout).toMatch(/^next runs\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/m);
    expect(set.stdout).toMatch(/^note\s+batch of the day$/m);
    expect((await h.client.schedule.getHandle(scheduleIdOf(trained, 'nightly')).describe()).spec.timezone).toBe('Europe/Paris');

    const list = await cli(['schedule', 'list', p]);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+WHEN\s+STATE\s+NEXT RUN\s+LAST RUN\s+NOTE$/);
    expect(lines[1]).toMatch(/^nightly\s+cron "[^"]+" Europe\/Paris ±5m\s+active\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+–\s+batch of the day$/);
    expect(JSON.parse((await cli(['schedule', 'list', p, '--json'])).stdout)).toEqual(await api(`/api/projects/${trained}/schedules`));

    const paused = await cli(['schedule', 'pause', p, 'nightly', '--note', 'holiday']);
    expect(paused.stdout).toMatch(/^state\s+paused$/m);
    expect(paused.stdout).toMatch(/^note\s+holiday$/m);
    // The project's only schedule: its id may be left out.
    const resumed = await cli(['schedule', 'resume', p]);
    expect(resumed.stdout).toMatch(/^state\s+active$/m);
    expect((await api(`/api/projects/${trained}/schedules`)).schedules[0]).toMatchObject({ id: 'nightly', paused: false });

    // With two schedules the id must be given.
    expect((await cli(['schedule', 'set', p, '--every', '1h', '--id', 'hourly'])).code).toBe(0);
    const ambiguous = await cli(['schedule', 'trigger', p]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/2 schedules \(hourly, nightly\): name one/);
    expect(await cli(['schedule', 'delete', p, 'hourly'])).toMatchObject({ code: 0, stdout: `schedule hourly of project ${trained} deleted\n` });

    // Trigger: the schedule's action asks the loop for a round now.
    const before = (await api(`/api/projects/${trained}/status`)).roundsStarted;
    expect(await cli(['schedule', 'trigger', p, 'nightly'])).toMatchObject({ code: 0, stdout: `schedule nightly of project ${trained} triggered\n` });
    expect(await finished(before + 1)).toMatchObject({ trigger: 'schedule', outcome: expect.stringMatching(/^(promoted|rejected)$/) });
    const recent = await waitFor('the trigger among the recent runs', async () => {
      const s = (await api(`/api/projects/${trained}/schedules`)).schedules[0];
      return s.recentRuns.length > 0 ? s : undefined;
    }, 30_000, 300);
    expect(recent.id).toBe('nightly');

    expect(await cli(['schedule', 'delete', p])).toMatchObject({ code: 0, stdout: `schedule nightly of project ${trained} deleted\n` });
    expect(await cli(['schedule', 'list', p])).toMatchObject({ code: 0, stdout: 'no schedules\n' });
    const gone = await cli(['schedule', 'pause', p, 'nightly']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/Label Loop at .*: schedule: /);
  });

  it('the stack\'s story: one line per outcome and per prediction push, the failure with its root cause', async () => {
    const msgs = await waitFor('both rounds in the story', async () => {
      const m = storyLines.map((l) => l.msg);
      return m.some((x) => x.startsWith('project 515151 round 1: PROMOTED')) && m.some((x) => x.includes('FAILED')) ? m : undefined;
    }, 30_000);
    expect(msgs).toContainEqual(expect.stringMatching(/^project 515151 round 1: PROMOTED r1-[0-9a-f]{8}: more labels, not significantly worse; .* vs the majority baseline on \d+ audit items.* \(\d+ audit items, cross-validated accuracy/));
    // No Label Studio here: the predictions are stored, not pushed, and the story says so.
    expect(msgs).toContainEqual(expect.stringMatching(/^project 515151 round 1: 300 new predictions of r1-[0-9a-f]{8} stored \(no Label Studio configured: nothing pushed\)$/));
    expect(msgs).toContainEqual(expect.stringMatching(new RegExp(`^project ${starved} round 1: FAILED: NotEnoughLabels: project ${starved} has \\d labelled tasks; a round needs at least 8`)));
    // Each round told once, with its facts as fields for JSON logs.
    expect(msgs.filter((m) => m.startsWith('project 515151 round 1: PROMOTED'))).toHaveLength(1);
    const promoted = storyLines.find((l) => l.msg.startsWith('project 515151 round 1: PROMOTED'))!;
    expect(promoted.story).toMatchObject({ projectId: trained, round: 1, outcome: 'promoted', predicted: 300, pushed: 0 });
  });

  it('connect\'s loop start: the loop runs without a round, so its status exists at once; a second start changes nothing', async () => {
    const projectId = uniqueProjectId();
    expect((await h.post('/setup', { project: `${projectId}.1700000000`, schema: SPAM_CONFIG })).status).toBe(200);
    expect((await h.get(`/api/projects/${projectId}/status`)).status).toBe(404);
    expect(await startProjectLoop(h.config, projectId)).toBe(`label-loop-project-${projectId}`);
    const status = await waitFor('the loop status', async () => {
      const r = await h.get(`/api/projects/${projectId}/status`);
      return r.status === 200 ? r.body : undefined;
    }, 30_000);
    expect(status).toMatchObject({ projectId, phase: 'idle', roundsStarted: 0, trainingRequested: false, currentRound: null });
    const firstRun = (await h.client.workflow.getHandle(`label-loop-project-${projectId}`).describe()).runId;
    await startProjectLoop(h.config, projectId);
    expect((await h.client.workflow.getHandle(`label-loop-project-${projectId}`).describe()).runId).toBe(firstRun);
    const r = await cli(['status', String(projectId)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rounds\s+0 started$/m);
  });
});
