import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { EventIntake } from '../../api/eventIntake.js';
import { ChampionCache } from '../../api/championCache.js';
import { fieldName } from '../../api/errors.js';
import { jsonDepth } from '../../api/plugins/json.js';
import { sameSecret } from '../../api/plugins/auth.js';
import { createPool } from '../../store/db.js';

// Routes exercised here never reach PostgreSQL (refused before, or answered without it); the pool
// points at a closed port so a request that did reach it would fail loudly with a 503.
const db = createPool('postgres://nobody:none@127.0.0.1:1/none', { connectTimeoutMs: 200 });
const app = buildApp({
  db,
  intake: new EventIntake(db, () => undefined),
  champions: new ChampionCache(db),
  security: { basicAuth: { user: 'ls', password: 'pw' }, webhookSecret: 's3cret', webhookSecretHeader: 'X-Label-Loop-Secret' },
  limits: { webhookBodyLimit: 1024 * 1024, predictBodyLimit: 1024 * 1024 },
  backendName: 'cpu',
});
afterAll(async () => {
  await app.close();
  await db.end();
});

const basic = { authorization: `Basic ${Buffer.from('ls:pw').toString('base64')}` };
const secret = { 'x-label-loop-secret': 's3cret' };
const json = { 'content-type': 'application/json' };

describe('API routes without servers (app.inject)', () => {
  it('answers /health without auth', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'UP' });
  });

  it.each([
    ['POST', '/predict', {}],
    ['POST', '/setup', {}],
    ['GET', '/api/projects/1/models', {}],
    ['POST', '/webhook', {}],
    ['POST', '/webhook', { authorization: 'Basic bm86cGU=' }],
    ['POST', '/webhook', { 'x-label-loop-secret': 's3cre' }],
  ])('%s %s without valid credentials is 401, whatever the body', async (method, url, headers) => {
    // Not JSON at all: a 401 proves the body was never parsed.
    const res = await app.inject({ method: method as 'POST', url, headers: { ...json, ...headers }, payload: '{not json' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatch(/authorization|secret/);
  });

  it.each([
    ['/webhook', secret, '{"action": "ANNOTATION_CREATED",', 400, /body: not valid JSON/],
    ['/webhook', secret, '[]', 400, /body|must be object/],
    ['/webhook', secret, '{"project": {"id": 1}}', 400, /action: is required/],
    ['/webhook', secret, '{"action":"ANNOTATION_CREATED","project":{"id":1},"annotation":{"id":1,"result":[]}}', 400, /task: is required/],
    ['/webhook', secret, '{"action":"ANNOTATION_CREATED","project":{"id":1},"annotation":{"result":[]},"task":{"id":1,"data":{}}}', 400, /annotation\.id: is required/],
    ['/webhook', secret, '{"action":"ANNOTATION_UPDATED","project":{"id":1},"annotation":{"id":2,"result":"spam"},"task":{"id":1,"data":{}}}', 400, /annotation\.result: must be an array/],
    ['/webhook', secret, '{"action":"ANNOTATION_UPDATED","annotation":{"id":2,"updated_at":"yesterday"},"task":{"id":1,"data":{}}}', 400, /annotation\.updated_at: must be an ISO 8601 date-time/],
    ['/webhook', secret, '{"action":"TASKS_CREATED","project":{"id":1},"tasks":[{"id":3}]}', 400, /tasks\[0\]\.data: is required/],
    ['/webhook', secret, '{"action":"START_TRAINING","project":{"id":-4}}', 400, /project/],
    ['/webhook', secret, '{"action":"START_TRAINING","project":{"id":"99999999999999999999"}}', 400, /project/],
    ['/webhook', secret, '{"action":"START_TRAINING","project":{"id":0}}', 400, /project/],
    ['/webhook', secret, '{"action":"TASKS_DELETED","project":1}', 400, /tasks: is required/],
    ['/webhook', secret, `{"action":"START_TRAINING","project":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, 400, /nested deeper/],
    ['/predict', basic, '{"project":"1.2"}', 400, /tasks: is required/],
    ['/predict', basic, '{"project":"1.2","tasks":[{"id":1}]}', 400, /tasks\[0\]\.data: is required/],
    ['/predict', basic, '{"tasks":[{"data":{"text":"x"}}]}', 400, /tasks\[0\]\.project: is required/],
    ['/predict', basic, '{"tasks": [', 400, /body: not valid JSON/],
    ['/setup', basic, '{"project":"1.2"}', 400, /schema: is required/],
    ['/setup', basic, '{"project":"1.2","schema":"<View><Text name=\\"t\\" value=\\"$t\\"/></View>"}', 400, /schema: .*Choices/],
    ['/setup', basic, '{"project":"0.2","schema":"<View/>"}', 400, /project: must be a positive integer id/],
    ['/api/projects/99999999999999999999/rounds', basic, '{}', 400, /id: must be a positive integer id/],
    ['/api/projects/0/rounds', basic, '{}', 400, /id: must be a positive integer id/],
    ['/api/projects/abc/rounds', basic, '{}', 400, /id: must be a positive integer id/],
    ['/api/projects/1/rounds', basic, '{"overrides":{"epochs":-1}}', 400, /overrides\.epochs/],
    ['/api/projects/1/rounds', basic, '{"bogus":1}', 400, /unknown field "bogus"/],
  ])('POST %s refuses bad input with a 4xx naming the field (%s)', async (url, headers, payload, status, message) => {
    const res = await app.inject({ method: 'POST', url, headers: { ...json, ...headers }, payload });
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatch(message);
  });

  // The 240-character config that froze the regex parser, and its kin: each is a 400 naming the problem.
  it.each([
    ['catastrophic-backtracking bait', `<View>${'<a b="'.repeat(40)}`, /schema: /],
    ['an entity bomb', '<!DOCTYPE v [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><View>&b;</View>', /DOCTYPE/i],
    ['a character reference out of range', '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="&#x110000;"/><Choice value="b"/></Choices></View>', /schema: /],
    ['a NUL byte', '<View>\u0000</View>', /schema: /],
    ['an unclosed tag', '<View><Text name="t" value="$t">', /schema: /],
    ['10,000 levels of nesting', `${'<View>'.repeat(10_000)}`, /nest|deep/i],
    ['a 1 MB config', `<View a="${'x'.repeat(1_000_000)}"/>`, /KiB|large|bytes/i],
  ])('POST /setup refuses %s with a 400', async (_name, schema, message) => {
    const res = await app.inject({ method: 'POST', url: '/setup', headers: { ...json, ...basic }, payload: JSON.stringify({ project: '1.2', schema }) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
  });

  it('refuses a body over the route limit with 413', async () => {
    const res = await app.inject({ method: 'POST', url: '/webhook', headers: { ...json, ...secret }, payload: `{"action":"X","pad":"${'x'.repeat(2 * 1024 * 1024)}"}` });
    expect(res.statusCode).toBe(413);
  });

  it('ignores actions it does not act on with a 200', async () => {
    const res = await app.inject({ method: 'POST', url: '/webhook', headers: { ...json, ...secret }, payload: '{"action":"PROJECT_UPDATED","project":{"id":1}}' });
    expect(res.json()).toEqual({ status: 'ignored', action: 'PROJECT_UPDATED' });
  });

  it('answers 503 (not 500) when PostgreSQL is unreachable', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/projects/1/models', headers: basic });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'no route GET /nope' });
  });
});

describe('API helpers', () => {
  it.each([
    ['', undefined, 'body'],
    ['/tasks/0/data', undefined, 'tasks[0].data'],
    ['/annotation', 'id', 'annotation.id'],
    ['', 'tasks', 'tasks'],
  ])('fieldName(%j, %j) = %s', (path, missing, name) => expect(fieldName(path, missing)).toBe(name));

  it.each([
    ['{}', 1],
    ['[[[]]]', 3],
    ['{"a":"[[[[[["}', 1],
    ['{"a":"\\"[["}', 1],
    ['[1,{"b":[2]}]', 3],
    ['{"a":"x\\\\"}', 1],
    ['[{"a":"x\\\\","b":[[1]]}]', 4],
    ['[{"a":"\\\\\\"[[","b":[1]}]', 3],
    ['["\\\\\\\\",[[]]]', 3],
  ])('jsonDepth(%s) = %i', (text, depth) => expect(jsonDepth(text)).toBe(depth));

  it('jsonDepth agrees with the depth of the parsed value on any JSON (seeded)', () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0;
    const stringy = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', ' ', '\n', 'é') });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, stringy, fc.integer(), fc.constant(null), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(stringy, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(fc.property(value, (v) => jsonDepth(JSON.stringify(v)) === depthOf(v)), { seed: 42, numRuns: 2_000 });
  });

  it('compares secrets of any length without throwing', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', 'x'.repeat(1000))).toBe(false);
  });
});
