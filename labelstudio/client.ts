/**
 * A small Label Studio REST client: the calls Label Loop needs, with Label Studio's auth rules.
 * Knows nothing of Temporal: it throws LabelStudioError, whose `permanent` flag tells callers
 * whether retrying can help (401/403/404/400 cannot; 5xx, 429 and network errors can).
 */

export class LabelStudioError extends Error {
  override name = 'LabelStudioError';
  constructor(
    message: string,
    readonly status: number | null,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

export interface LabelStudioTask {
  id: number;
  data: Record<string, unknown>;
  annotations?: LabelStudioAnnotation[];
  predictions?: { id: number; model_version: string; score: number | null }[];
}

export interface LabelStudioAnnotation {
  id: number;
  result: unknown[];
  was_cancelled: boolean;
  updated_at?: string;
  task?: number;
}

export interface PredictionImport {
  task: number;
  result: unknown[];
  score: number;
  model_version: string;
}

export interface LabelStudioClientOptions {
  url: string;
  /** A legacy token (sent as `Token …`) or a personal access token (a JWT refresh token). */
  apiKey: string;
  timeoutMs?: number;
  /**
   * Attempts per call for retryable failures (5xx, 429, network), with exponential backoff.
   * Default 1: inside activities Temporal owns retries (one place, visible in the Web UI); the
   * CLI, which has no Temporal behind it, asks for a few.
   */
  attempts?: number;
  fetchImpl?: typeof fetch;
}

/** A personal access token is a JWT refresh token: three base64url parts with a `refresh` type. */
export function isPersonalAccessToken(key: string): boolean {
  const parts = key.split('.');
  if (parts.length !== 3) return false;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && (payload.token_type === 'refresh' || 'exp' in payload);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LabelStudioClient {
  readonly url: string;
  private readonly apiKey: string;
  private readonly pat: boolean;
  private access: string | null = null;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: LabelStudioClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.pat = isPersonalAccessToken(opts.apiKey);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.attempts = opts.attempts ?? 1;
    this.fetchImpl = opts.fetchImpl ?? fetch;
  }

  get authKind(): 'personal access token' | 'legacy token' {
    return this.pat ? 'personal access token' : 'legacy token';
  }

  /** Trades the personal access token for a short-lived bearer token (about 5 minutes). */
  private async refreshAccess(): Promise<string> {
    const res = await this.raw('POST', '/api/token/refresh/', { refresh: this.apiKey }, {});
    const access = (res as { access?: string }).access;
    if (!access) throw new LabelStudioError('POST /api/token/refresh/ returned no access token', null, true);
    this.access = access;
    return access;
  }

  private async authHeader(): Promise<Record<string, string>> {
    if (!this.pat) return { authorization: `Token ${this.apiKey}` };
    return { authorization: `Bearer ${this.access ?? (await this.refreshAccess())}` };
  }

  /** One HTTP call with retries for transient failures; JSON in, JSON out. */
  private async raw(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<unknown> {
    let lastError: LabelStudioError | null = null;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) await sleep(Math.min(500 * 2 ** (attempt - 2), 8_000));
      let res: Response;
      try {
        res = await this.fetchImpl(`${this.url}${path}`, {
          method,
          headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        lastError = new LabelStudioError(`${method} ${path}: Label Studio at ${this.url} did not answer (${(err as Error).message})`, null, false);
        continue;
      }
      const text = await res.text();
      if (res.ok) {
        if (!text) return null;
        try {
          return JSON.parse(text);
        } catch {
          throw new LabelStudioError(`${method} ${path}: Label Studio answered non-JSON: ${excerpt(text)}`, res.status, true);
        }
      }
      const detail = excerpt(text);
      if (res.status >= 500 || res.status === 429) {
        lastError = new LabelStudioError(`${method} ${path}: Label Studio answered ${res.status}: ${detail}`, res.status, false);
        continue;
      }
      throw new LabelStudioError(`${method} ${path}: ${res.status} ${explain(res.status, this.authKind)}: ${detail}`, res.status, true);
    }
    throw lastError!;
  }

  /** An authenticated call; a bearer token that expired is refreshed once, on 401. */
  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return (await this.raw(method, path, body, await this.authHeader())) as T;
    } catch (err) {
      if (this.pat && err instanceof LabelStudioError && err.status === 401) {
        await this.refreshAccess();
        return (await this.raw(method, path, body, await this.authHeader())) as T;
      }
      throw err;
    }
  }

  getProject(projectId: number) {
    return this.request<{ id: number; title: string; label_config: string; model_version: string; sampling: string }>('GET', `/api/projects/${projectId}/`);
  }

  patchProject(projectId: number, patch: Record<string, unknown>) {
    return this.request('PATCH', `/api/projects/${projectId}/`, patch);
  }

  /**
   * Every task of the project with its annotations and predictions, page by page. Pages past the
   * end answer 404, so the loop stops on the reported total.
   */
  async *tasks(projectId: number, pageSize = 500): AsyncGenerator<LabelStudioTask[]> {
    let seen = 0;
    for (let page = 1; ; page++) {
      const res = await this.request<{ tasks: LabelStudioTask[]; total: number }>(
        'GET',
        `/api/tasks/?project=${projectId}&page=${page}&page_size=${pageSize}&fields=all`,
      );
      const tasks = res.tasks ?? [];
      seen += tasks.length;
      if (tasks.length > 0) yield tasks;
      if (tasks.length === 0 || seen >= res.total) return;
    }
  }

  importPredictions(projectId: number, predictions: PredictionImport[]) {
    return this.request<{ created: number }>('POST', `/api/projects/${projectId}/import/predictions`, predictions);
  }

  listViews(projectId: number) {
    return this.request<{ id: number; data: { title?: string } }[]>('GET', `/api/dm/views/?project=${projectId}`);
  }

  createView(projectId: number, data: Record<string, unknown>) {
    return this.request<{ id: number }>('POST', '/api/dm/views/', { project: projectId, data });
  }

  updateView(viewId: number, projectId: number, data: Record<string, unknown>) {
    return this.request<{ id: number }>('PUT', `/api/dm/views/${viewId}/`, { project: projectId, data });
  }

  listMlBackends(projectId: number) {
    return this.request<{ id: number; url: string; title: string }[]>('GET', `/api/ml/?project=${projectId}`);
  }

  createMlBackend(body: Record<string, unknown>) {
    return this.request<{ id: number; url: string }>('POST', '/api/ml/', body);
  }

  updateMlBackend(id: number, body: Record<string, unknown>) {
    return this.request<{ id: number; url: string }>('PATCH', `/api/ml/${id}`, body);
  }

  listWebhooks(projectId: number) {
    return this.request<{ id: number; url: string; project: number | null; headers: Record<string, string>; is_active: boolean }[]>(
      'GET',
      `/api/webhooks/?project=${projectId}`,
    );
  }

  createWebhook(body: Record<string, unknown>) {
    return this.request<{ id: number }>('POST', '/api/webhooks/', body);
  }

  patchWebhook(id: number, body: Record<string, unknown>) {
    return this.request<{ id: number }>('PATCH', `/api/webhooks/${id}/`, body);
  }
}

/**
 * A short, printable excerpt of a Label Studio error body: enough to say what it refused, never
 * a whole HTML page or task text in a Temporal failure or a log line.
 */
export function excerpt(body: string, max = 600): string {
  let out = '';
  let space = false;
  for (const ch of body.slice(0, max * 4)) {
    const printable = ch >= ' ' && ch !== '\u007f';
    if (!printable || ch === ' ') {
      space = out.length > 0;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ch;
    if (out.length >= max) return `${out}…`;
  }
  return out;
}

function explain(status: number, authKind: string): string {
  switch (status) {
    case 401:
      return `unauthorized: check LABEL_STUDIO_API_KEY (used as a ${authKind}; legacy tokens are off by default in new Label Studio organizations: use a personal access token or enable legacy tokens)`;
    case 403:
      return 'forbidden: the token\'s user may not access this project';
    case 404:
      return 'not found: check LABEL_STUDIO_URL and the project id';
    case 400:
      return 'rejected by Label Studio';
    default:
      return 'request failed';
  }
}
