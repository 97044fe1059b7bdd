/**
 * The HTTP API as an app factory: plugins for auth, JSON bodies, errors and metrics, then the
 * route plugins (ML-backend protocol, webhook, project API, /metrics, the dashboard), each with
 * its schemas. No listening, no
 * Temporal or PostgreSQL wiring here (server.ts does that), so `app.inject` tests need no servers
 * for routes that touch neither.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import type { EventIntake } from './eventIntake.js';
import type { ChampionCache } from './championCache.js';
import type { Loops } from './routes/common.js';
import { formatSchemaErrors, registerErrorHandling } from './errors.js';
import { authPlugin, type ApiSecurity } from './plugins/auth.js';
import { jsonPlugin } from './plugins/json.js';
import { mlBackendRoutes } from './routes/mlBackend.js';
import { webhookRoutes } from './routes/webhook.js';
import { projectRoutes } from './routes/projects.js';
import { roundRoutes } from './routes/rounds.js';
import { modelRoutes } from './routes/models.js';
import { scheduleRoutes } from './routes/schedules.js';
import { metricsPlugin } from './plugins/metrics.js';
import { metricsRoutes } from './routes/metrics.js';
import { dashboardRoutes, type DashboardOptions } from './routes/dashboard.js';
import { ApiMetrics } from './metrics.js';
import { DEFAULT_AUDIT_SHARE, DEFAULT_STRATEGY, type SamplingStrategy } from '../policies/sampling.js';

export type { ApiSecurity };

export interface AppDeps {
  db: Db;
  intake: EventIntake;
  champions: ChampionCache;
  /** Temporal side (status queries, on-demand rounds); absent → those routes answer 503. */
  loops?: Loops;
  security: ApiSecurity;
  /** Body limits in bytes (see README "HTTP API"). */
  limits: { webhookBodyLimit: number; predictBodyLimit: number };
  backendName: string;
  logger?: Logger;
  /** This process's metrics registry (server.ts shares it with the forwarder); default: a new one. */
  metrics?: ApiMetrics;
  /** The dashboard's links into the Temporal Web UI; default: none, namespace `default`. */
  dashboard?: DashboardOptions;
  /** The audit stream's share and the strategy of projects that chose none; default: the config's defaults. */
  sampling?: { auditShare: number; defaultStrategy: SamplingStrategy };
}

/** Routes that set no `bodyLimit` of their own (the project API) accept this much. */
const DEFAULT_BODY_LIMIT = 64 * 1024;

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    // No per-request logs: Label Studio's bodies and headers carry tokens. The error handler
    // logs refusals and failures with the route and a short message only.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    // A client that stops sending must not hold a connection (and its buffered body) forever.
    requestTimeout: 120_000,
    // No coercion ("12" is not 12, "x" is not ["x"]) and no silent removal of unknown fields:
    // a request that does not match its schema gets a 400 saying which field.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true } },
    schemaErrorFormatter: (errors, dataVar) => formatSchemaErrors(errors as never, dataVar),
  }) as unknown as FastifyInstance;

  const metrics = deps.metrics ?? new ApiMetrics({ db: deps.db, intakeDepth: () => deps.intake.depth });
  registerErrorHandling(app);
  void app.register(authPlugin, deps.security);
  void app.register(jsonPlugin);
  void app.register(metricsPlugin, metrics);
  const sampling = deps.sampling ?? { auditShare: DEFAULT_AUDIT_SHARE, defaultStrategy: DEFAULT_STRATEGY };
  void app.register(mlBackendRoutes, { db: deps.db, champions: deps.champions, backendName: deps.backendName, predictBodyLimit: deps.limits.predictBodyLimit, sampling });
  void app.register(webhookRoutes, { intake: deps.intake, webhookBodyLimit: deps.limits.webhookBodyLimit });
  void app.register(projectRoutes, { db: deps.db, champions: deps.champions, loops: deps.loops, sampling });
  void app.register(roundRoutes, { db: deps.db, loops: deps.loops });
  void app.register(modelRoutes, { db: deps.db, loops: deps.loops });
  void app.register(scheduleRoutes, { db: deps.db, loops: deps.loops });
  void app.register(metricsRoutes, { metrics });
  void app.register(dashboardRoutes, deps.dashboard ?? { namespace: 'default' });
  return app;
}
