import { createServer } from 'node:http';
import { userInfo } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../cli/apiClient.js';
import { listenInRange, startFakeApi, type FakeApi } from '../helpers/fakeApi.js';

/** The ApiError a call fails with. */
async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected the call to fail');
}

describe('the CLI\'s API client against a real local HTTP server', () => {
  let api: FakeApi;
  beforeAll(async () => {
    api = await startFakeApi();
  });
  afterAll(async () => api?.close());
  beforeEach(() => api.reset());

  it('returns the parsed body and the text as sent', async () => {
    const body = { projectId: 1, phase: 'idle', note: 'any JSON: the client does not look inside' };
    api.on('GET /api/projects/1/status', { body });
    const reply = await new ApiClient({ baseUrl: `${api.url}/` }).status(1);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(body);
    expect(reply.text).toBe(JSON.stringify(body));
    expect(api.requests[0].headers.authorization).toBeUndefined();
  });

  it('a port nobody listens on: "cannot reach", exit 1', async () => {
    // A port that was free a moment ago: bind it, note it, close it.
    const server = createServer();
    const port = await listenInRange(server);
    await new Promise((r) => server.close(r));
    const err = await failure(new ApiClient({ baseUrl: `http://127.0.0.1:${port}` }).status(1));
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe(`cannot reach Label Loop at http://127.0.0.1:${port} (is \`npm run stack\` running?): ECONNREFUSED`);
  });

  it('a server that does not answer in time: exit 1 naming the wait', async () => {
    api.on('GET /api/projects/1/status', () => new Promise(() => undefined));
    const err = await failure(new ApiClient({ baseUrl: api.url, timeoutMs: 300 }).status(1));
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/did not answer GET \/api\/projects\/1\/status within 0.3 s/);
  });

  it.each([
    [undefined, /wants credentials: set LABEL_LOOP_BASIC_AUTH_USER and LABEL_LOOP_BASIC_AUTH_PASSWORD/],
    [{ user: 'ops', password: 'wrong' }, /refused the credentials: check LABEL_LOOP_BASIC_AUTH_USER and LABEL_LOOP_BASIC_AUTH_PASSWORD/],
  ])('401 with credentials %j: a message about credentials, exit 2', async (basicAuth, message) => {
    api.on('GET /api/projects/1/status', { status: 401, body: { error: 'authorization: missing or wrong credentials' } });
    const err = await failure(new ApiClient({ baseUrl: api.url, basicAuth }).status(1));
    expect(err).toMatchObject({ exitCode: 2, status: 401 });
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('wrong"'); // never the password
  });

  it.each([
    [400, { error: 'every: must be a duration like 30m or 1h' }, {}, 2, false, /refused the request: every: must be a duration like 30m or 1h$/],
    [403, { error: 'forbidden' }, {}, 2, false, /forbids POST/],
    [404, { error: 'round 9 of project 1 does not exist' }, {}, 1, false, /: round 9 of project 1 does not exist$/],
    [404, { error: 'no route POST /api/projects/1/schedules' }, {}, 1, true, /has no POST \/api\/projects\/1\/schedules: it is older than this command/],
    [409, { error: 'schedule nightly exists' }, {}, 1, false, /answered 409: schedule nightly exists/],
    [503, { error: 'PostgreSQL is unavailable; retry later' }, { 'retry-after': '5' }, 1, false, /cannot answer now: PostgreSQL is unavailable; retry later \(retry after 5 s\)/],
    [502, undefined, {}, 1, false, /answered 502$/],
  ])('%i → exit %i', async (status, body, headers, exitCode, missingRoute, message) => {
    api.on('POST /api/projects/1/schedules', { status, body, headers });
    const err = await failure(new ApiClient({ baseUrl: api.url }).createSchedule(1, { every: 'often' }));
    expect(err).toMatchObject({ exitCode, status, missingRoute });
    expect(err.message).toMatch(message);
  });

  it('a 2xx that is not JSON is not Label Loop: exit 1', async () => {
    api.on('GET /api/projects/1/models', { raw: '<html>hello</html>' });
    const err = await failure(new ApiClient({ baseUrl: api.url }).models(1));
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/not JSON: is it Label Loop's API\?/);
  });

  it('escapes model versions and schedule ids in paths, and names who asked (the operating-system user) for the audit trail', async () => {
    api.on('POST /api/projects/1/models/r1-a%2Fb/promote', { status: 202, body: { status: 'requested', project: 1 } });
    await new ApiClient({ baseUrl: api.url }).promote(1, 'r1-a/b', 'why');
    expect(api.requests[0].url).toBe('/api/projects/1/models/r1-a%2Fb/promote');
    expect(api.requests[0].headers['x-label-loop-actor']).toBe(userInfo().username);
    await new ApiClient({ baseUrl: api.url, actor: 'ops-bot' }).promote(1, 'r1-a/b', 'why');
    expect(api.requests[1].headers['x-label-loop-actor']).toBe('ops-bot');
  });
});
