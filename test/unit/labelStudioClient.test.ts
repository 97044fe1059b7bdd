import { describe, expect, it } from 'vitest';
import { isPersonalAccessToken, LabelStudioClient, LabelStudioError } from '../../labelstudio/client.js';

const jwt = (payload: object) => ['e30', Buffer.from(JSON.stringify(payload)).toString('base64url'), 'sig'].join('.');
const PAT = jwt({ token_type: 'refresh', exp: 9_999_999_999 });

/** A scripted fetch: each call takes the next response and is recorded. */
function scripted(responses: (Response | Error)[]) {
  const calls: { url: string; auth: string | null; body: unknown }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    calls.push({ url, auth: headers.get('authorization'), body: init.body ? JSON.parse(String(init.body)) : undefined });
    const next = responses.shift();
    if (!next) throw new Error('no more scripted responses');
    if (next instanceof Error) throw next;
    return next;
  }) as typeof fetch;
  return { calls, fetchImpl };
}
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('LabelStudioClient', () => {
  it.each([
    [PAT, true],
    ['0123456789abcdef0123456789abcdef01234567', false],
    ['a.b.c', false],
  ])('tells a personal access token from a legacy one: %s → %s', (key, expected) => {
    expect(isPersonalAccessToken(key)).toBe(expected);
  });

  it('sends a legacy token as "Token …"', async () => {
    const { calls, fetchImpl } = scripted([json(200, { id: 3 })]);
    const ls = new LabelStudioClient({ url: 'http://ls:8080/', apiKey: 'legacy-key', fetchImpl });
    await ls.getProject(3);
    expect(calls).toEqual([{ url: 'http://ls:8080/api/projects/3/', auth: 'Token legacy-key', body: undefined }]);
  });

  it('trades a personal access token for a bearer token and refreshes it once on 401', async () => {
    const { calls, fetchImpl } = scripted([
      json(200, { access: 'A1' }),
      json(200, { id: 3 }),
      json(401, { detail: 'Authentication credentials were not provided.' }),
      json(200, { access: 'A2' }),
      json(200, { id: 3 }),
    ]);
    const ls = new LabelStudioClient({ url: 'http://ls:8080', apiKey: PAT, fetchImpl });
    await ls.getProject(3);
    await ls.getProject(3);
    expect(calls.map((c) => [c.url.replace('http://ls:8080', ''), c.auth])).toEqual([
      ['/api/token/refresh/', null],
      ['/api/projects/3/', 'Bearer A1'],
      ['/api/projects/3/', 'Bearer A1'],
      ['/api/token/refresh/', null],
      ['/api/projects/3/', 'Bearer A2'],
    ]);
    expect(calls[0].body).toEqual({ refresh: PAT });
  });

  it('retries 5xx and network errors, then succeeds', async () => {
    const { calls, fetchImpl } = scripted([json(502, {}), new TypeError('fetch failed'), json(200, { id: 1 })]);
    const ls = new LabelStudioClient({ url: 'http://ls', apiKey: 'k', fetchImpl, attempts: 3 });
    expect(await ls.getProject(1)).toEqual({ id: 1 });
    expect(calls).toHaveLength(3);
  });

  it.each([
    [401, /check LABEL_STUDIO_API_KEY/],
    [403, /may not access this project/],
    [404, /check LABEL_STUDIO_URL and the project id/],
  ])('fails fast on %i with a message that says what to fix', async (status, message) => {
    const { calls, fetchImpl } = scripted([json(status, { detail: 'nope' })]);
    const ls = new LabelStudioClient({ url: 'http://ls', apiKey: 'k', fetchImpl, attempts: 3 });
    const err = await ls.getProject(1).catch((e) => e);
    expect(err).toBeInstanceOf(LabelStudioError);
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(message);
    expect(calls).toHaveLength(1);
  });

  it('reports transient failures as retryable once its own attempts are spent', async () => {
    const { fetchImpl } = scripted([json(503, {}), json(503, {})]);
    const ls = new LabelStudioClient({ url: 'http://ls', apiKey: 'k', fetchImpl, attempts: 2 });
    const err = await ls.getProject(1).catch((e) => e);
    expect(err.permanent).toBe(false);
    expect(err.status).toBe(503);
  });

  it('pages through tasks until the reported total', async () => {
    const { calls, fetchImpl } = scripted([
      json(200, { tasks: [{ id: 1, data: {} }, { id: 2, data: {} }], total: 3 }),
      json(200, { tasks: [{ id: 3, data: {} }], total: 3 }),
    ]);
    const ls = new LabelStudioClient({ url: 'http://ls', apiKey: 'k', fetchImpl });
    const ids = [];
    for await (const page of ls.tasks(7, 2)) ids.push(...page.map((t) => t.id));
    expect(ids).toEqual([1, 2, 3]);
    expect(calls.map((c) => c.url)).toEqual([
      'http://ls/api/tasks/?project=7&page=1&page_size=2&fields=all',
      'http://ls/api/tasks/?project=7&page=2&page_size=2&fields=all',
    ]);
  });
});
