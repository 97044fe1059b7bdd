import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { EventIntake } from '../../api/eventIntake.js';
import { ChampionCache } from '../../api/championCache.js';
import { actionLabel, ApiMetrics, webhookResult } from '../../api/metrics.js';
import { createPool } from '../../store/db.js';
import { series } from '../helpers/prometheus.js';

// Metrics and the dashboard without servers (app.inject). The pool points at a closed port: what
// /metrics reads from PostgreSQL is then absent and label_loop_database_up says so.
const db = createPool('postgres://nobody:none@127.0.0.1:1/none', { connectTimeoutMs: 200 });
const security = { basicAuth: { user: 'ls', password: 'pw' }, webhookSecret: 's3cret', webhookSecretHeader: 'X-Label-Loop-Secret' };
const limits = { webhookBodyLimit: 1024 * 1024, predictBodyLimit: 1024 * 1024 };
const intake = new EventIntake(db, () => undefined);
const app = buildApp({
  db,
  intake,
  champions: new ChampionCache(db),
  security,
  limits,
  backendName: 'cpu',
  dashboard: { temporalUiUrl: 'http://localhost:8233', namespace: 'default' },
});
const open = buildApp({ db, intake, champions: new ChampionCache(db), security: { webhookSecretHeader: 'X-Label-Loop-Secret' }, limits, backendName: 'cpu' });
afterAll(async () => {
  await app.close();
  await open.close();
  await db.end();
});

const basic = { authorization: `Basic ${Buffer.from('ls:pw').toString('base64')}` };
const secret = { 'x-label-loop-secret': 's3cret', 'content-type': 'application/json' };

const scrape = async () => {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: basic });
  expect(res.statusCode).toBe(200);
  return res.body;
};

describe('GET /metrics', () => {
  it('speaks Prometheus text format with Label Loop and process metrics', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: basic });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    for (const [name, type] of [
      ['label_loop_webhook_events_total', 'counter'],
      ['label_loop_webhook_ack_duration_seconds', 'histogram'],
      ['label_loop_intake_queue_depth', 'gauge'],
      ['label_loop_predict_duration_seconds', 'histogram'],
      ['label_loop_predict_batch_tasks', 'histogram'],
      ['label_loop_forwarder_signals_total', 'counter'],
      ['label_loop_forwarder_events_total', 'counter'],
      ['label_loop_database_up', 'gauge'],
      ['label_loop_rounds_total', 'counter'],
      ['label_loop_round_step_duration_seconds', 'histogram'],
      ['label_loop_champion_accuracy', 'gauge'],
      ['label_loop_champion_macro_f1', 'gauge'],
      ['label_loop_forwarder_lag_seconds', 'gauge'],
      ['label_loop_webhook_events_unforwarded', 'gauge'],
      ['process_cpu_seconds_total', 'counter'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ]) {
      expect(res.body).toContain(`# TYPE ${name} ${type}\n`);
    }
    // Every family of ours is prefixed, counters end in _total, durations are in seconds.
    const families = [...res.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1], type: m[2] }));
    const ours = families.filter((f) => f.name.startsWith('label_loop_'));
    expect(ours.length).toBeGreaterThanOrEqual(20);
    for (const f of ours) {
      expect(f.name).toMatch(/^label_loop_[a-z0-9_]+$/);
      expect(f.name.endsWith('_total'), f.name).toBe(f.type === 'counter');
      if (/duration|latency|lag/.test(f.name)) expect(f.name).toMatch(/_seconds$/);
    }
  });

  it('says PostgreSQL could not be read and reports none of its numbers, rather than zeros', async () => {
    const text = await scrape();
    expect(series(text, 'label_loop_database_up')).toEqual(new Map([['', 0]]));
    for (const name of ['label_loop_webhook_events_unforwarded', 'label_loop_forwarder_lag_seconds', 'label_loop_rounds_total', 'label_loop_round_step_duration_seconds_count']) {
      expect(series(text, name).size, name).toBe(0);
    }
    // What this process counts itself is still there.
    expect(series(text, 'label_loop_intake_queue_depth')).toEqual(new Map([['', 0]]));
  });

  it.each([
    ['without credentials', {}],
    ['with wrong credentials', { authorization: `Basic ${Buffer.from('ls:nope').toString('base64')}` }],
    ['with the webhook secret only', { 'x-label-loop-secret': 's3cret' }],
  ])('requires the API\'s Basic auth when it is configured (%s)', async (_name, headers) => {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
    expect(res.body).not.toContain('label_loop_');
  });

  it('is open when the API has no auth configured', async () => {
    const res = await open.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('label_loop_webhook_events_total');
  });

  it('counts webhook requests by action and result, and times their acknowledgement', async () => {
    const count = (text: string, labels: string) => series(text, 'label_loop_webhook_events_total').get(labels) ?? 0;
    const acks = (text: string, result: string) => series(text, 'label_loop_webhook_ack_duration_seconds_count').get(`{result="${result}"}`) ?? 0;
    const before = await scrape();
    // Ignored (an action Label Loop does not act on), twice with a made-up action (bounded to "other").
    for (const action of ['PROJECT_UPDATED', 'NOT_AN_ACTION_OF_LABEL_STUDIO']) {
      const res = await app.inject({ method: 'POST', url: '/webhook', headers: secret, payload: JSON.stringify({ action, project: { id: 1 } }) });
      expect(res.json().status).toBe('ignored');
    }
    // Refused: no secret (the body is never read), and a malformed annotation.
    expect((await app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json' }, payload: '{}' })).statusCode).toBe(401);
    expect(
      (await app.inject({ method: 'POST', url: '/webhook', headers: secret, payload: '{"action":"ANNOTATION_CREATED","project":{"id":1},"annotation":{"result":[]},"task":{"id":1,"data":{}}}' }))
        .statusCode,
    ).toBe(400);
    // Unavailable: a well-formed event, but PostgreSQL is down.
    const down = await app.inject({ method: 'POST', url: '/webhook', headers: secret, payload: JSON.stringify({ action: 'START_TRAINING', project: { id: 1 } }) });
    expect(down.statusCode).toBe(503);

    const after = await scrape();
    expect(count(after, '{action="other",result="ignored"}') - count(before, '{action="other",result="ignored"}')).toBe(2);
    expect(count(after, '{action="unknown",result="refused"}') - count(before, '{action="unknown",result="refused"}')).toBe(1);
    expect(count(after, '{action="ANNOTATION_CREATED",result="refused"}') - count(before, '{action="ANNOTATION_CREATED",result="refused"}')).toBe(1);
    expect(count(after, '{action="START_TRAINING",result="unavailable"}') - count(before, '{action="START_TRAINING",result="unavailable"}')).toBe(1);
    expect(acks(after, 'ignored') - acks(before, 'ignored')).toBe(2);
    expect(acks(after, 'unavailable') - acks(before, 'unavailable')).toBe(1);
    // No label value came from the request as it was sent.
    expect(after).not.toContain('NOT_AN_ACTION');
  });

  it('times /predict by status code and counts the tasks of answered requests', async () => {
    const before = await scrape();
    // An empty list is answered without PostgreSQL; tasks need the champion's version from it (503 here).
    const empty = await app.inject({ method: 'POST', url: '/predict', headers: { ...basic, 'content-type': 'application/json' }, payload: '{"tasks":[]}' });
    expect(empty.statusCode).toBe(200);
    const down = await app.inject({
      method: 'POST',
      url: '/predict',
      headers: { ...basic, 'content-type': 'application/json' },
      payload: JSON.stringify({ project: '5.1', tasks: [{ data: { text: 'a' } }, { data: { text: 'b' } }] }),
    });
    expect(down.statusCode).toBe(503);
    const after = await scrape();
    const n = (text: string, name: string, labels = '') => series(text, name).get(labels) ?? 0;
    expect(n(after, 'label_loop_predict_duration_seconds_count', '{code="200"}') - n(before, 'label_loop_predict_duration_seconds_count', '{code="200"}')).toBe(1);
    expect(n(after, 'label_loop_predict_duration_seconds_count', '{code="503"}') - n(before, 'label_loop_predict_duration_seconds_count', '{code="503"}')).toBe(1);
    // Only the answered request's batch (0 tasks) is counted.
    expect(n(after, 'label_loop_predict_batch_tasks_count') - n(before, 'label_loop_predict_batch_tasks_count')).toBe(1);
    expect(n(after, 'label_loop_predict_batch_tasks_bucket', '{le="1"}') - n(before, 'label_loop_predict_batch_tasks_bucket', '{le="1"}')).toBe(1);
  });

  it.each([
    [200, 'recorded', 'recorded'],
    [200, 'duplicate', 'duplicate'],
    [200, 'ignored', 'ignored'],
    [409, undefined, 'conflict'],
    [400, undefined, 'refused'],
    [401, undefined, 'refused'],
    [413, undefined, 'refused'],
    [503, undefined, 'unavailable'],
    [500, undefined, 'error'],
  ])('webhookResult(%i, %s) = %s', (code, status, result) => expect(webhookResult(code, status)).toBe(result));

  it.each([
    ['ANNOTATION_CREATED', 'ANNOTATION_CREATED'],
    ['START_TRAINING', 'START_TRAINING'],
    ['PROJECT_UPDATED', 'other'],
    ['x'.repeat(100), 'other'],
    [undefined, 'unknown'],
    [42, 'unknown'],
    ['', 'unknown'],
  ])('actionLabel(%j) = %s', (action, label) => expect(actionLabel(action)).toBe(label));

  it('keeps a registry per instance (two apps in one process do not collide)', async () => {
    const a = new ApiMetrics({ db, intakeDepth: () => 3, processMetrics: false });
    const b = new ApiMetrics({ db, intakeDepth: () => 4, processMetrics: false });
    expect(series(await a.scrape(), 'label_loop_intake_queue_depth').get('')).toBe(3);
    expect(series(await b.scrape(), 'label_loop_intake_queue_depth').get('')).toBe(4);
  });
});

describe('the dashboard', () => {
  const page = async (headers: Record<string, string> = basic) => app.inject({ method: 'GET', url: '/dashboard', headers });

  it('serves the page with a strict content security policy, revalidated on every load', async () => {
    const res = await page();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'.*script-src 'self'.*connect-src 'self'/);
    expect(res.headers.etag).toMatch(/^"[\w-]+"$/);
    expect(res.body).toContain('<title>Label Loop</title>');
    // The Temporal Web UI's address reaches the page as data, not code.
    expect(res.body).toContain('<script type="application/json" id="label-loop-config">{"temporalUiUrl":"http://localhost:8233","namespace":"default","refreshMs":5000}</script>');
    // Nothing from another origin.
    expect(res.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const revalidated = await page({ ...basic, 'if-none-match': res.headers.etag as string });
    expect(revalidated.statusCode).toBe(304);
    expect(revalidated.body).toBe('');
  });

  it('serves every asset the page names, content-hashed and cached for a year', async () => {
    const html = (await page()).body;
    const urls = [...html.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(urls.map((u) => u.replace(/\.[\w-]{16}\./, '.*.')).sort()).toEqual([
      '/dashboard/assets/app.*.js',
      '/dashboard/assets/style.*.css',
      '/dashboard/assets/uPlot.*.css',
      '/dashboard/assets/uPlot.*.js',
    ]);
    for (const url of urls) {
      const res = await app.inject({ method: 'GET', url, headers: basic });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe(url.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(res.headers['cache-control']).toBe('private, max-age=31536000, immutable');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.body.length).toBeGreaterThan(500);
    }
    expect((await app.inject({ method: 'GET', url: urls.find((u) => u.includes('uPlot') && u.endsWith('.js'))!, headers: basic })).body).toContain('uPlot');
  });

  it('answers an unknown asset with a JSON 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/dashboard/assets/app.0000000000000000.js', headers: basic });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatch(/no such dashboard asset/);
  });

  it.each(['/dashboard', '/dashboard/assets/app.0000000000000000.js'])('%s requires the API\'s Basic auth', async (url) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
  });

  it('sends browsers from / to the dashboard and programs to a JSON index', async () => {
    const browser = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(browser.statusCode).toBe(302);
    expect(browser.headers.location).toBe('/dashboard');
    const program = await app.inject({ method: 'GET', url: '/', headers: { accept: 'application/json' } });
    expect(program.statusCode).toBe(200);
    expect(program.json()).toEqual({ name: 'label-loop', links: { dashboard: '/dashboard', metrics: '/metrics', health: '/health', projects: '/api/projects' } });
    expect((await app.inject({ method: 'GET', url: '/dashboard/', headers: basic })).headers.location).toBe('/dashboard');
  });

  it('shows no Temporal links when no Web UI address is known', async () => {
    const res = await open.inject({ method: 'GET', url: '/dashboard' });
    expect(res.body).toContain('{"temporalUiUrl":null,"namespace":"default","refreshMs":5000}');
  });
});
