import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Db } from '../store/db.js';
import { listModels, nextTasks, saveLabelConfig, type SamplingStrategy } from '../store/index.js';
import { parseWebhook, PayloadError, projectIdOf } from '../labelstudio/webhooks.js';
import { choicesResult, parseLabelConfig, taskText, UnsupportedLabelConfigError } from '../labelstudio/labelConfig.js';
import { scorePrediction } from '../model/uncertainty.js';
import type { EventIntake } from './eventIntake.js';
import type { ChampionCache } from './championCache.js';
import type { LoopGateway } from './loopGateway.js';
import type { TrainOverrides } from '../workflows/definitions.js';

export interface ApiSecurity {
  /** HTTP Basic credentials for the ML-backend routes (Label Studio's "Basic auth" connection option). */
  basicAuth?: { user: string; password: string };
  /** Shared secret expected in `webhookSecretHeader` on /webhook. */
  webhookSecret?: string;
  webhookSecretHeader: string;
}

export interface AppDeps {
  db: Db;
  intake: EventIntake;
  champions: ChampionCache;
  /** Temporal side (status queries, on-demand rounds); absent → those routes answer 503. */
  loops?: Pick<LoopGateway, 'status' | 'requestRound'>;
  security: ApiSecurity;
  backendName: string;
  logger?: FastifyServerOptions['logger'];
}

/** Sends `{error}` with a status; the one shape of every error this API returns. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const UNTRAINED_VERSION = 'label-loop-untrained';
const MAX_PREDICT_TASKS = 10_000;

const errorSchema = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function positiveInt(value: unknown, field: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new HttpError(400, `${field}: must be a positive integer`);
  return n;
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const { db, intake, champions, security } = deps;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: 64 * 1024 * 1024, // "Retrieve Predictions" posts every selected task in one body
    // No per-request logs: Label Studio's bodies and headers carry tokens. Errors are logged by
    // the error handler below, with the route and message only.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    let status = err instanceof HttpError ? err.statusCode : err.statusCode ?? 500;
    let message = err.message;
    if (err instanceof PayloadError || err instanceof UnsupportedLabelConfigError) status = 400;
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError) {
      status = 400;
      message = `body: not valid JSON (${err.message})`;
    }
    if (status >= 500) {
      req.log.error({ err: { message: err.message, stack: err.stack }, route: req.routeOptions.url, method: req.method }, 'request failed');
      message = 'internal error; see the Label Loop API log';
    } else {
      req.log.info({ route: req.routeOptions.url, status, error: message }, 'request rejected');
    }
    if (status < 500) {
      // Label Studio reports a failed /setup or /predict by the HTTP reason phrase alone
      // ("Reason: 400 Client Error: <phrase> for url"): put the message there too, so the user
      // sees why in Label Studio's dialog. Reason phrases are printable ASCII on one line.
      reply.raw.statusMessage = message.replace(/[^\x20-\x7e]/g, ' ').slice(0, 300);
    }
    void reply.status(status).send({ error: message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  const basicAuthOk = (req: FastifyRequest): boolean => {
    const creds = security.basicAuth;
    if (!creds) return true;
    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ');
    const decoded = scheme?.toLowerCase() === 'basic' && encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
    const sep = decoded.indexOf(':');
    return sep > 0 && sameSecret(decoded.slice(0, sep), creds.user) && sameSecret(decoded.slice(sep + 1), creds.password);
  };
  const requireBasicAuth = async (req: FastifyRequest, reply: FastifyReply) => {
    if (basicAuthOk(req)) return;
    void reply.header('www-authenticate', 'Basic realm="label-loop"');
    throw new HttpError(401, 'authorization: HTTP Basic credentials missing or wrong');
  };
  // Label Studio sends project events through the webhook with its custom headers, but
  // START_TRAINING from the ML-backend connection with Basic auth only: either proves the caller.
  const requireWebhookSecret = async (req: FastifyRequest) => {
    if (!security.webhookSecret) return;
    const given = req.headers[security.webhookSecretHeader.toLowerCase()];
    if (typeof given === 'string' && sameSecret(given, security.webhookSecret)) return;
    if (security.basicAuth && req.headers.authorization && basicAuthOk(req)) return;
    throw new HttpError(401, `${security.webhookSecretHeader}: webhook secret header missing or wrong`);
  };

  app.get('/health', { schema: { response: { 200: anyObject } } }, async () => ({
    status: 'UP',
    model_class: 'LabelLoop',
    backend: deps.backendName,
  }));

  app.post(
    '/setup',
    { preHandler: requireBasicAuth, schema: { body: anyObject, response: { 200: anyObject, '4xx': errorSchema } } },
    async (req) => {
      const body = req.body as Record<string, unknown>;
      const projectId = projectIdOf(body.project);
      if (body.schema === undefined) throw new PayloadError('schema', 'is required (the project label config)');
      // Validate before storing: Label Studio shows this error in its ML-backend dialog.
      const task = parseLabelConfig(body.schema);
      await saveLabelConfig(db, projectId, body.schema as string, 'setup');
      return { model_version: (await champions.version(projectId)) ?? UNTRAINED_VERSION, labels: task.labels, multi_label: task.multiLabel };
    },
  );

  app.post('/predict', { preHandler: requireBasicAuth, schema: { body: anyObject, response: { '4xx': errorSchema } } }, async (req) => {
    const body = req.body as Record<string, unknown>;
    if (!Array.isArray(body.tasks)) throw new PayloadError('tasks', 'must be an array of Label Studio tasks');
    if (body.tasks.length > MAX_PREDICT_TASKS) throw new PayloadError('tasks', `at most ${MAX_PREDICT_TASKS} tasks per request`);
    const tasks = body.tasks as unknown[];
    tasks.forEach((t, i) => {
      if (!t || typeof t !== 'object' || !(t as { data?: unknown }).data || typeof (t as { data?: unknown }).data !== 'object') {
        throw new PayloadError(`tasks[${i}].data`, 'must be an object');
      }
    });
    const projectSource = body.project ?? (tasks[0] as { project?: unknown } | undefined)?.project;
    if (tasks.length === 0) return { results: [] };
    const projectId = projectIdOf(projectSource, body.project === undefined ? 'tasks[0].project' : 'project');

    const champion = await champions.get(projectId);
    if (!champion) return { results: [], model_version: null, message: `project ${projectId} has no trained model yet` };
    const texts = tasks.map((t) => taskText(champion.task, (t as { data: unknown }).data));
    const scorable = texts.flatMap((text, i) => (text === undefined ? [] : [i]));
    const probs = champion.classifier.predictProba(scorable.map((i) => texts[i]!));
    const byTask = new Map(scorable.map((taskIndex, j) => [taskIndex, probs[j]]));
    return {
      results: tasks.map((_, i) => {
        const p = byTask.get(i);
        if (!p) {
          // No `result`: Label Studio skips the entry instead of storing an empty prediction.
          return { model_version: champion.version, error: `task data has no text field "${champion.task.textField}"` };
        }
        const s = scorePrediction(p, champion.classifier.spec);
        return { result: choicesResult(champion.task, s.labels), score: s.score, model_version: champion.version };
      }),
    };
  });

  app.post('/webhook', { preHandler: requireWebhookSecret, schema: { response: { 200: anyObject, '4xx': errorSchema } } }, async (req) => {
    const parsed = parseWebhook(req.body);
    if (parsed.ignored) return { status: 'ignored', action: parsed.action };
    const isNew = await intake.record(parsed.event);
    return { status: isNew ? 'recorded' : 'duplicate', action: parsed.event.action, project: parsed.event.projectId };
  });

  app.get('/versions', { preHandler: requireBasicAuth }, async (req) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const projectId = projectIdOf(q.project ?? body.project);
    return { versions: (await listModels(db, projectId)).filter((m) => m.hasWeights).map((m) => m.version) };
  });

  // --- Label Loop's own API (same auth as the ML-backend routes) ---------------------------

  app.get('/api/projects/:id/next-tasks', { preHandler: requireBasicAuth }, async (req) => {
    const projectId = positiveInt((req.params as { id: string }).id, 'id');
    const q = req.query as Record<string, string | undefined>;
    const limit = q.limit === undefined ? 10 : positiveInt(q.limit, 'limit');
    if (limit > 1000) throw new HttpError(400, 'limit: at most 1000');
    const strategy = (q.strategy ?? 'least_confidence') as SamplingStrategy;
    if (!['least_confidence', 'margin', 'entropy'].includes(strategy)) {
      throw new HttpError(400, 'strategy: must be one of least_confidence, margin, entropy');
    }
    const version = await champions.version(projectId);
    const tasks = await nextTasks(db, projectId, version, strategy, limit);
    return { project: projectId, model_version: version, strategy, tasks };
  });

  app.get('/api/projects/:id/models', { preHandler: requireBasicAuth }, async (req) => {
    const projectId = positiveInt((req.params as { id: string }).id, 'id');
    return { project: projectId, models: await listModels(db, projectId) };
  });

  app.get('/api/projects/:id/status', { preHandler: requireBasicAuth }, async (req) => {
    const projectId = positiveInt((req.params as { id: string }).id, 'id');
    if (!deps.loops) throw new HttpError(503, 'Temporal is not configured for this API process');
    const status = await deps.loops.status(projectId);
    if (!status) throw new HttpError(404, `project ${projectId} has no loop yet (no webhook received)`);
    return status;
  });

  app.post(
    '/api/projects/:id/rounds',
    {
      preHandler: requireBasicAuth,
      schema: {
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            reason: { type: 'string', maxLength: 200 },
            overrides: {
              type: 'object',
              additionalProperties: false,
              properties: {
                epochs: { type: 'integer', minimum: 0, maximum: 10_000 },
                learningRate: { type: 'number', exclusiveMinimum: 0, maximum: 10 },
                batchSize: { type: 'integer', minimum: 1, maximum: 100_000 },
                l2: { type: 'number', minimum: 0 },
                seed: { type: 'integer' },
              },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const projectId = positiveInt((req.params as { id: string }).id, 'id');
      if (!deps.loops) throw new HttpError(503, 'Temporal is not configured for this API process');
      const body = (req.body ?? {}) as { reason?: string; overrides?: TrainOverrides };
      await deps.loops.requestRound(projectId, body.reason ?? 'api', body.overrides);
      void reply.status(202);
      return { status: 'requested', project: projectId };
    },
  );

  return app;
}
