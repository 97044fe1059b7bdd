/**
 * One log format for every process: pino JSON lines (pretty-printed on a terminal), with the
 * Temporal runtime's and worker's own logs routed through the same logger. Lines carry ids
 * (project, round workflow, activity), never payload values: no task text, no tokens, no bodies.
 */
import pino, { type Logger } from 'pino';
import { ApplicationFailure, ApplicationFailureCategory, IllegalStateError } from '@temporalio/common';
import pretty from 'pino-pretty';
import { makeTelemetryFilterString, Runtime, type LogLevel, type LogMetadata, type Logger as TemporalLogger } from '@temporalio/worker';
import type { Config } from './config.js';

export type { Logger };

/** A pino logger for this process; `name` is the process role (stack, worker, api, cli). */
export function createLogger(config: Pick<Config, 'log'>, name: string, opts: { defaultLevel?: string; stream?: NodeJS.WritableStream } = {}): Logger {
  const usePretty = config.log.format ? config.log.format === 'pretty' : process.stdout.isTTY === true;
  const stream = opts.stream;
  const options = {
    name,
    level: config.log.level ?? opts.defaultLevel ?? 'info',
    // Secrets that could reach a log line through an error object or headers are masked.
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.password', '*.apiKey', '*.token'], censor: '[redacted]' },
  };
  if (stream) return pino(options, stream);
  if (!usePretty) return pino(options);
  // `story` (worker/story.ts) repeats its line's facts as fields for JSON logs: one line on a console.
  return pino(options, pretty({ colorize: process.stdout.isTTY === true, ignore: 'pid,hostname,story', translateTime: 'SYS:HH:MM:ss.l' }));
}

function rootCause(err: unknown): Error | undefined {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e : undefined;
}

const isBenign = (e: Error) => e instanceof ApplicationFailure && e.category === ApplicationFailureCategory.BENIGN;

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The Temporal SDK's logger interface over pino. Workflow and activity log calls arrive with
 * the SDK's metadata (namespace, task queue, workflow id, activity type…), which is kept.
 */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const fields: Record<string, unknown> = { ...(meta as object), sdk: 'temporal' };
    let lvl = LEVELS[level] ?? 'info';
    // A round that failed for an expected reason (too few labels…) is one info line, no stack.
    const err = fields.error;
    const root = rootCause(err);
    if (err instanceof Error && root) {
      // Temporal's failures do not serialise through pino's error keys: name their chain here.
      // A round that failed for an expected reason (too few labels…) is one info line, no stack.
      const benign = isBenign(root);
      if (benign && (lvl === 'warn' || lvl === 'error')) lvl = 'info';
      fields.error = {
        type: (root as { type?: string }).type ?? root.name,
        message: root.message,
        ...(root !== err ? { via: err.message } : {}),
        ...(benign ? {} : { stack: (root.stack ?? '').split('\n').slice(0, 6).join('\n') }),
      };
    }
    this.logger[lvl](fields, message);
  }
  trace(message: string, meta?: LogMetadata) {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata) {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata) {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata) {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata) {
    this.log('ERROR', message, meta);
  }
}

let installed = false;

export interface TemporalRuntimeOptions {
  /** Core log level forwarded to `logger` (default WARN). */
  coreLevel?: LogLevel;
  /**
   * `host:port` of a Prometheus endpoint for the SDK's own metrics (workflow and activity task
   * latencies, slots, polls, sticky cache…), served by the Rust core at `GET /metrics`.
   */
  metricsBindAddress?: string;
}

/**
 * Installs the process-wide Temporal runtime: its logs (TypeScript side and the Rust core,
 * forwarded at WARN) go through `logger`, and with `metricsBindAddress` its metrics are exported
 * for Prometheus. The runtime can be installed once per process; later calls are no-ops.
 *
 * Metric names follow Prometheus conventions like Label Loop's own (`_total` counters, durations
 * in seconds with the unit in the name), e.g. `temporal_activity_execution_latency_seconds`.
 */
export function installTemporalLogging(logger: Logger, opts: TemporalRuntimeOptions | LogLevel = {}): void {
  const { coreLevel = 'WARN', metricsBindAddress } = typeof opts === 'string' ? { coreLevel: opts } : opts;
  if (installed) return;
  installed = true;
  const metrics = metricsBindAddress
    ? { metrics: { prometheus: { bindAddress: metricsBindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } } }
    : {};
  try {
    Runtime.install({
      logger: new PinoTemporalLogger(logger.child({ component: 'temporal' })),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: coreLevel }), forward: {} }, ...metrics },
    });
  } catch (err) {
    // Already installed (e.g. by a test harness in the same process): keep that one. A metrics
    // endpoint that cannot bind is a configuration error the operator must see.
    if (metricsBindAddress && !(err instanceof IllegalStateError)) {
      throw new Error(`Temporal metrics endpoint on ${metricsBindAddress} (LABEL_LOOP_WORKER_METRICS_PORT): ${(err as Error).message}`);
    }
  }
}
