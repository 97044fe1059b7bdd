/**
 * The operator commands' HTTP client for a running Label Loop (its /api routes), typed by the
 * modules that produce the replies (apiTypes.ts). Every failure becomes an ApiError whose message a person can act on and whose
 * exit code follows the CLI's rule: 2 when the command line or the configuration must change
 * (input the API refused with 400, credentials it refused with 401/403), 1 otherwise (Label Loop
 * unreachable or unavailable, not found, a conflict, a server error).
 */
import { userInfo } from 'node:os';
import type {
  ChampionRequestedReply,
  LoopStatus,
  ModelsReply,
  ProjectSummary,
  ReplayRequestedReply,
  RoundOutcome,
  RoundRequestedReply,
  RoundRow,
  ScheduleInfo,
  ScheduleRequest,
  TrainOverrides,
} from './apiTypes.js';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    /** The CLI's exit code for this failure: 1 failure, 2 usage or configuration. */
    readonly exitCode: 1 | 2,
    /** The HTTP status, when Label Loop answered. */
    readonly status?: number,
    /** The route does not exist on that Label Loop (older than this CLI). */
    readonly missingRoute = false,
  ) {
    super(message);
  }
}

/** A reply: the parsed body, and its text as Label Loop sent it (what `--json` prints). */
export interface ApiReply<T> {
  status: number;
  body: T;
  text: string;
}

export interface ApiClientOptions {
  /** e.g. http://127.0.0.1:9090 */
  baseUrl: string;
  basicAuth?: { user: string; password: string };
  /**
   * Who runs the command, for the record of promotions and rollbacks (the API's
   * `X-Label-Loop-Actor`; api/routes/common.ts). Default: the operating-system user.
   */
  actor?: string;
  /** Per request (ms). The API answers status queries within LABEL_LOOP_TEMPORAL_QUERY_TIMEOUT_MS or 503s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const enc = encodeURIComponent;

/** The operating-system user, or undefined where there is none (a container's bare uid). */
function osUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/** The error code deep in fetch's "fetch failed" (ECONNREFUSED, ENOTFOUND, …). */
function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** One call; resolves with 2xx replies only. */
  async request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<ApiReply<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const actor = this.options.actor ?? osUser();
    // Printable ASCII only: a header value cannot carry more (the API trims it to 64 characters).
    if (actor) headers['x-label-loop-actor'] = actor.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
    const auth = this.options.basicAuth;
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') {
        throw new ApiError(`Label Loop at ${this.baseUrl} did not answer ${method} ${path} within ${this.timeoutMs / 1000} s`, 1);
      }
      const code = networkCode(err);
      throw new ApiError(`cannot reach Label Loop at ${this.baseUrl} (is \`npm run stack\` running?)${code ? `: ${code}` : ''}`, 1);
    }
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (res.ok) {
      if (text.length > 0 && parsed === undefined) {
        throw new ApiError(`${this.baseUrl} answered ${method} ${path} with something that is not JSON: is it Label Loop's API?`, 1, res.status);
      }
      return { status: res.status, body: parsed as T, text };
    }
    throw this.failure(res, method, path, parsed, text);
  }

  private failure(res: Response, method: string, path: string, parsed: unknown, text: string): ApiError {
    const said = typeof (parsed as { error?: unknown })?.error === 'string' ? (parsed as { error: string }).error : text.slice(0, 200).trim();
    const at = `Label Loop at ${this.baseUrl}`;
    switch (res.status) {
      case 400:
      case 422:
        return new ApiError(`${at} refused the request: ${said}`, 2, res.status);
      case 401:
        return new ApiError(
          this.options.basicAuth
            ? `${at} refused the credentials: check LABEL_LOOP_BASIC_AUTH_USER and LABEL_LOOP_BASIC_AUTH_PASSWORD (they must match the API's)`
            : `${at} wants credentials: set LABEL_LOOP_BASIC_AUTH_USER and LABEL_LOOP_BASIC_AUTH_PASSWORD to the API's`,
          2,
          401,
        );
      case 403:
        return new ApiError(`${at} forbids ${method} ${path} with these credentials: ${said}`, 2, 403);
      case 404:
        if (said.startsWith('no route ')) {
          return new ApiError(`${at} has no ${method} ${path.split('?')[0]}: it is older than this command (update and restart it)`, 1, 404, true);
        }
        return new ApiError(`${at}: ${said}`, 1, 404);
      case 503: {
        const retry = res.headers.get('retry-after');
        return new ApiError(`${at} cannot answer now: ${said}${retry ? ` (retry after ${retry} s)` : ''}`, 1, 503);
      }
      default:
        return new ApiError(`${at} answered ${res.status}${said ? `: ${said}` : ''}`, 1, res.status);
    }
  }

  // --- the operator routes (api/routes/*.ts) ------------------------------------------------

  projects() {
    return this.request<{ projects: ProjectSummary[] }>('GET', '/api/projects');
  }
  status(project: number) {
    return this.request<LoopStatus>('GET', `/api/projects/${project}/status`);
  }
  rounds(project: number, query: { outcome?: RoundOutcome; limit?: number } = {}) {
    const q = new URLSearchParams();
    if (query.outcome) q.set('outcome', query.outcome);
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    const qs = q.toString();
    return this.request<{ project: number; rounds: RoundRow[] }>('GET', `/api/projects/${project}/rounds${qs ? `?${qs}` : ''}`);
  }
  round(project: number, round: number) {
    return this.request<RoundRow>('GET', `/api/projects/${project}/rounds/${round}`);
  }
  requestRound(project: number, body: { reason?: string; overrides?: TrainOverrides } = {}) {
    return this.request<RoundRequestedReply>('POST', `/api/projects/${project}/rounds`, body);
  }
  replay(project: number, round: number, body: { fresh?: boolean; reason?: string } = {}) {
    return this.request<ReplayRequestedReply>('POST', `/api/projects/${project}/rounds/${round}/replay`, body);
  }
  models(project: number) {
    return this.request<ModelsReply>('GET', `/api/projects/${project}/models`);
  }
  promote(project: number, version: string, reason: string) {
    return this.request<ChampionRequestedReply>('POST', `/api/projects/${project}/models/${enc(version)}/promote`, { reason });
  }
  rollback(project: number, reason: string) {
    return this.request<ChampionRequestedReply>('POST', `/api/projects/${project}/rollback`, { reason });
  }
  schedules(project: number) {
    return this.request<{ project: number; schedules: ScheduleInfo[] }>('GET', `/api/projects/${project}/schedules`);
  }
  createSchedule(project: number, spec: ScheduleRequest) {
    return this.request<ScheduleInfo>('POST', `/api/projects/${project}/schedules`, spec);
  }
  pauseSchedule(project: number, id: string, note?: string) {
    return this.request<ScheduleInfo>('POST', `/api/projects/${project}/schedules/${enc(id)}/pause`, note === undefined ? {} : { note });
  }
  resumeSchedule(project: number, id: string) {
    return this.request<ScheduleInfo>('POST', `/api/projects/${project}/schedules/${enc(id)}/resume`, {});
  }
  triggerSchedule(project: number, id: string) {
    return this.request<{ status: 'triggered' }>('POST', `/api/projects/${project}/schedules/${enc(id)}/trigger`, {});
  }
  deleteSchedule(project: number, id: string) {
    return this.request<undefined>('DELETE', `/api/projects/${project}/schedules/${enc(id)}`);
  }
}
