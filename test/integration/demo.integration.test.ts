import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, uniqueProjectId, type Harness } from '../helpers/harness.js';
import { runDemo } from '../../demo/run.js';

describe('the quick-start demo (real Temporal and PostgreSQL, through the HTTP API)', () => {
  let h: Harness;
  const projectId = uniqueProjectId();
  let firstRun: Awaited<ReturnType<typeof runDemo>>;
  beforeAll(async () => {
    h = await createHarness({ env: { LABEL_LOOP_QUIET_PERIOD_MS: '1500', LABEL_LOOP_MIN_ANNOTATIONS: '20' } });
  });
  afterAll(async () => h?.close());

  it('the served champion is right on at least 0.95 of the e-mails nobody labelled, and the demo prints it', async () => {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d) => (printed += d));
    const summary = (firstRun = await runDemo({
      apiUrl: h.api.url,
      db: h.db,
      client: h.client,
      config: h.config,
      projectId,
      tasks: 2_000,
      labels: 800,
      paceMs: 0,
      out,
    }));
    expect(summary.labelled).toBe(800);
    expect(summary.promotions).toBeGreaterThanOrEqual(2);
    expect(summary.finalUnlabelled).toBe(1_200);
    expect(summary.finalAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(printed).toMatch(/the served champion r\d+-[0-9a-f]{8} is right on 0\.9[5-9]\d* of the 1200 e-mails nobody labelled/);
    expect(printed).toMatch(/round \d+: .* PROMOTED/);
  });

  it('a second run continues the first and counts only its own rounds and promotions', async () => {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d) => (printed += d));
    const second = await runDemo({ apiUrl: h.api.url, db: h.db, client: h.client, config: h.config, projectId, tasks: 2_000, labels: 850, paceMs: 0, out });
    expect(printed).toContain('800 e-mails were labelled in an earlier run; continuing');
    // Two sessions of 25 labels and the final round: a few rounds, not the first run's total again.
    expect(second.rounds).toBeGreaterThanOrEqual(1);
    expect(second.rounds).toBeLessThan(firstRun.rounds);
    const told = [...printed.matchAll(/^round (\d+): /gm)].map((m) => Number(m[1]));
    expect(told.every((r) => r > firstRun.rounds)).toBe(true);
    expect(printed).toContain(` · ${second.rounds} rounds, ${second.promotions} promotions this run`);
    expect(second.promotions).toBeLessThanOrEqual(second.rounds);
  });
});
