/**
 * `label-loop`: Label Loop's command line (commander: a maintained parser that gives every
 * command `--help`, usage errors and consistent option syntax for free).
 *
 * Process commands (stack, worker, api, demo) run Label Loop; `connect` joins it to a Label
 * Studio project; the operator commands (status, rounds, train, schedule, models, in
 * operator.ts) talk to a running Label Loop through its HTTP API.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage or configuration error (EXIT_CODES_HELP).
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig, type Config } from '../worker/config.js';
import { ConnectError } from '../labelstudio/connect.js';
import { ApiError } from './apiClient.js';
import { addOperatorCommands, positiveInt, UsageError } from './operator.js';
import { colorsFor, type Io } from './output.js';

/** The demo's annotator labels in sessions and waits for each round: a short quiet period keeps it brisk. */
const DEMO_DEFAULTS = { LABEL_LOOP_QUIET_PERIOD_MS: '1500', LABEL_LOOP_MIN_ANNOTATIONS: '20' };

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  done (with --wait: the round finished, promoted or rejected)
  1  failure: Label Loop unreachable or unavailable (503), not found (404), a
     conflict (409), a server error, a round that failed while you waited
  2  usage: unknown command or option, bad argument, configuration error, input
     the API refused (400) or credentials it refused (401/403)

Operator commands call LABEL_LOOP_URL (default http://LABEL_LOOP_HOST:LABEL_LOOP_PORT)
with LABEL_LOOP_BASIC_AUTH_USER / LABEL_LOOP_BASIC_AUTH_PASSWORD; --json prints the
API's JSON reply as it is. Colours only on a terminal (NO_COLOR or --no-color: none).`;

export type LoadConfig = (defaults?: Record<string, string>) => Config;

export interface ProgramOptions {
  load?: LoadConfig;
  io?: Io;
}

// The process commands load the stack (Temporal worker, TensorFlow.js, fastify) only when they
// run: an operator command then starts in a fraction of the time.
const processes = () => import('../worker/processes.js');
const logging = () => import('../worker/logging.js');

const processIo = (): Io => ({ stdout: process.stdout, stderr: process.stderr });

export function buildProgram(opts: ProgramOptions = {}): Command {
  const load: LoadConfig = opts.load ?? ((d) => loadConfig(undefined, d));
  const io = opts.io ?? processIo();
  const program = new Command('label-loop')
    .description('A durable active-learning backend for Label Studio, on Temporal and PostgreSQL.')
    .option('--no-color', 'no colours, even on a terminal')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      getOutHelpWidth: () => io.stdout.columns ?? 80,
      getErrHelpWidth: () => io.stderr.columns ?? 80,
      outputError: (s, write) => write(colorsFor(io.stderr).red(s)),
    })
    .exitOverride()
    .addHelpText('after', EXIT_CODES_HELP);

  program
    .command('stack')
    .description('PostgreSQL + Temporal (embedded unless configured) + a worker process + the API, until Ctrl-C; prints each round\'s outcome')
    .action(async () => {
      const config = load();
      const [{ runStack }, { createLogger }] = await Promise.all([processes(), logging()]);
      await runStack(config, createLogger(config, 'stack'));
    });

  program
    .command('demo')
    .description('the stack, then a simulated annotator labelling SpamAssassin e-mails through the real API; stays up afterwards')
    .option('--labels <n>', 'labels the annotator gives (default LABEL_LOOP_DEMO_LABELS or 1,500)', positiveInt('--labels'))
    .action(async (o: { labels?: number }) => {
      const config = load(DEMO_DEFAULTS);
      const [{ runStack, defaultWorkerLogFile }, { createLogger }] = await Promise.all([processes(), logging()]);
      const log = createLogger(config, 'demo', { defaultLevel: 'warn' });
      // The demo tells its own story (below); the stack's round lines would repeat it.
      const stack = await runStack(config, log, { workerLogFile: defaultWorkerLogFile(config), story: false });
      const { runDemo } = await import('../demo/run.js');
      await runDemo({ apiUrl: stack.api.url, db: stack.db, client: stack.client, config, temporalUiUrl: stack.temporalUiUrl, labels: o.labels ?? config.demo.labels });
      io.stdout.write('[label-loop] demo finished; the stack stays up for the Temporal Web UI. Ctrl-C to stop.\n');
    });

  program
    .command('worker')
    .description('a Temporal worker only (needs TEMPORAL_ADDRESS and DATABASE_URL)')
    .action(async () => {
      const config = load();
      const [{ runWorkerProcess }, { createLogger }] = await Promise.all([processes(), logging()]);
      await runWorkerProcess(config, createLogger(config, 'worker'));
    });

  program
    .command('api')
    .description('the HTTP API and webhook forwarder only (needs TEMPORAL_ADDRESS and DATABASE_URL)')
    .action(async () => {
      const config = load();
      const [{ runApiProcess }, { createLogger }] = await Promise.all([processes(), logging()]);
      await runApiProcess(config, createLogger(config, 'api'));
    });

  program
    .command('connect')
    .description(
      'connect Label Loop to a Label Studio project: ML backend with auth, webhook secret, Data Manager tab, uncertainty sampling; then start the project\'s loop',
    )
    .requiredOption('--project <id>', 'the Label Studio project id', positiveInt('--project'))
    .option('--backend-url <url>', 'URL Label Studio uses to reach Label Loop (default: the API address)')
    .option('--ls-url <url>', 'Label Studio URL (default LABEL_STUDIO_URL)')
    .option('--ls-token <token>', 'Label Studio token (default LABEL_STUDIO_API_KEY)')
    .option('--title <title>', 'ML backend title in Label Studio', 'Label Loop')
    .option('--no-start-loop', 'do not start the project\'s loop (it starts with the first webhook)')
    .addHelpText('after', '\nExample:\n  label-loop connect --project 1 --backend-url http://127.0.0.1:9090')
    .action(async (o: { project: number; backendUrl?: string; lsUrl?: string; lsToken?: string; title: string; startLoop: boolean }) => {
      const config = load();
      const labelStudioUrl = o.lsUrl ?? config.labelStudio?.url;
      const apiKey = o.lsToken ?? config.labelStudio?.apiKey;
      if (!labelStudioUrl || !apiKey) throw new ConfigError('set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY (or --ls-url and --ls-token)');
      const backendUrl = o.backendUrl ?? config.cli.apiUrl;
      const { connectProject } = await import('../labelstudio/connect.js');
      const { LoopStartError, startProjectLoop } = await import('../worker/loopStarter.js');
      const result = await connectProject(config.security, { projectId: o.project, backendUrl, labelStudioUrl, apiKey, title: o.title });
      for (const line of result.lines) io.stdout.write(`[label-loop] ${line}\n`);
      if (!o.startLoop) return;
      try {
        const id = await startProjectLoop(config, o.project);
        io.stdout.write(`[label-loop] loop ${id} running (label-loop status ${o.project})\n`);
      } catch (err) {
        if (err instanceof LoopStartError) throw new LoopStartError(`connected in Label Studio, but the loop did not start: ${err.message} (it starts with the first webhook)`);
        throw err;
      }
    });

  addOperatorCommands(program, { load: () => load(), io });
  return program;
}

/** Runs the CLI; resolves to the exit code (long-running commands resolve when they are up). */
export async function main(argv: string[], opts: ProgramOptions = {}): Promise<number> {
  const io = opts.io ?? processIo();
  const program = buildProgram({ ...opts, io });
  const fail = (message: string) => io.stderr.write(`${colorsFor(io.stderr).red('label-loop:')} ${message}\n`);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0; commander printed the rest.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof ApiError) {
      fail(err.message);
      return err.exitCode;
    }
    if (err instanceof ConfigError || err instanceof ConnectError || err instanceof UsageError) {
      fail(`${err instanceof ConfigError ? 'configuration error: ' : ''}${err.message}`);
      return EXIT.usage;
    }
    fail(err instanceof Error ? err.message : String(err));
    return EXIT.failure;
  }
}
