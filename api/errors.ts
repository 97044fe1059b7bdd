/**
 * One error shape for the whole API: `{"error": "<field>: <what is wrong>"}` with a 4xx for bad
 * input and a 503 for an outage of PostgreSQL or Temporal, so a caller knows whether to fix its
 * request or retry later. 5xx bodies never carry stack traces; logs carry the route and the
 * error's message, never the request's values.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PayloadError } from '../labelstudio/webhooks.js';
import { isLabelConfigError } from '../labelstudio/labelConfig.js';
import { isUnavailable } from '../store/db.js';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A dependency (PostgreSQL, Temporal) is down or too slow: 503, retry later. */
export class UnavailableError extends HttpError {
  constructor(what: string, retryAfterSeconds = 5) {
    super(503, `${what} is unavailable; retry later`, { 'retry-after': String(retryAfterSeconds) });
  }
}

/** `/tasks/0/data` → `tasks[0].data`: how users name a field. */
export function fieldName(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (missing) parts.push(missing);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || 'body';
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: { description?: string };
}

const depth = (e: AjvError) => e.instancePath.split('/').length;

/**
 * Ajv errors → one line naming the field. The deepest error says most (for a union, each branch
 * reports; the one that got furthest into the data is the one the caller meant); a union with a
 * description is named by it ("must be a positive integer id") rather than by its branches.
 */
export function formatSchemaErrors(errors: AjvError[], dataVar: string): Error {
  const real = errors.filter((x) => x.keyword !== 'if' && x.keyword !== 'anyOf');
  // At equal depth a missing or unknown field says more than a branch's "must be null".
  const weight = (x: AjvError) => depth(x) * 2 + (x.keyword === 'required' || x.keyword === 'additionalProperties' ? 1 : 0);
  const e = real.length ? real.reduce((best, x) => (weight(x) > weight(best) ? x : best)) : errors[0];
  const union = ['type', 'pattern', 'minimum', 'maximum'].includes(e.keyword)
    ? errors.find((x) => x.keyword === 'anyOf' && x.instancePath === e.instancePath && x.parentSchema?.description)
    : undefined;
  const missing = e.keyword === 'required' ? String(e.params.missingProperty) : undefined;
  const field = fieldName(e.instancePath, missing);
  // Params and query fields are named alone (`id`, `limit`); an error about the whole of one is named after it.
  const name = field === 'body' && dataVar !== 'body' ? dataVar : field;
  let what = e.message ?? 'is invalid';
  if (missing) what = 'is required';
  else if (union) what = `must be ${union.parentSchema!.description}`;
  else if (e.keyword === 'additionalProperties') what = `has an unknown field "${String(e.params.additionalProperty).slice(0, 40)}"`;
  else if (e.parentSchema?.description && ['type', 'format', 'pattern'].includes(e.keyword)) what = `must be ${e.parentSchema.description}`;
  return new HttpError(400, `${name}: ${what}`);
}

/** Printable, single-line, short: safe for a reason phrase and a log line. */
const printable = (s: string, max = 300) => s.replace(/[^\x20-\x7e]/g, ' ').slice(0, max);

export function statusOf(err: FastifyError | Error): { status: number; message: string; headers: Record<string, string> } {
  if (err instanceof HttpError) return { status: err.statusCode, message: err.message, headers: err.headers };
  if (err instanceof PayloadError || isLabelConfigError(err as unknown)) return { status: 400, message: err.message, headers: {} };
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError) {
    return { status: 400, message: `body: not valid JSON (${printable(err.message, 120)})`, headers: {} };
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, message: `body: larger than this route accepts (${err.message})`, headers: {} };
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, message: 'content-type: must be application/json', headers: {} };
  if (isUnavailable(err)) return { status: 503, message: 'PostgreSQL is unavailable; retry later', headers: { 'retry-after': '5' } };
  const status = (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) return { status, message: printable(err.message), headers: {} };
  return { status: 500, message: 'internal error; see the Label Loop API log', headers: {} };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const { status, message, headers } = statusOf(err);
    const route = req.routeOptions.url ?? 'unknown';
    if (status >= 500 && status !== 503) {
      req.log.error({ route, method: req.method, err: { type: err.name, message: printable(err.message), stack: err.stack } }, 'request failed');
    } else {
      req.log.info({ route, method: req.method, status, error: printable(message, 160) }, 'request refused');
    }
    // Label Studio reports a failed /setup or /predict by the HTTP reason phrase alone
    // ("Reason: 400 Client Error: <phrase> for url"): put the message there too, so the user
    // sees why in Label Studio's dialog. Reason phrases are printable ASCII on one line.
    if (status < 500) reply.raw.statusMessage = printable(message);
    void reply.status(status).headers(headers).send({ error: message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no route ${req.method} ${printable(req.url.split('?')[0], 100)}` });
  });
}
