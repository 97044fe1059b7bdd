import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, uniqueProjectId, type Harness } from '../helpers/harness.js';
import { runDemo } from '../../demo/run.js';

describe('the quick-start demo (real Temporal and PostgreSQL, through the HTTP API)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ env: { LABEL_LOOP_QUIET_PERIOD_MS: '1500', LABEL_LOOP_MIN_ANNOTATIONS: '20' } });
  });
  afterAll(async () => h?.close());

  it('reaches at least 0.95 held-out accuracy with a model trained on all labelled e-mails, and prints it', async () => {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d) => (printed += d));
    const summary = await runDemo({
      apiUrl: h.api.url,
      db: h.db,
      client: h.client,
      config: h.config,
      projectId: uniqueProjectId(),
      tasks: 3_000,
      labels: 1_500,
      paceMs: 0,
      out,
    });
    expect(summary.labelled).toBe(1_500);
    expect(summary.promotions).toBeGreaterThanOrEqual(2);
    expect(summary.finalHeldOut).toBeGreaterThanOrEqual(200);
    expect(summary.finalAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(printed).toMatch(/final held-out accuracy 0\.9[5-9]\d*/);
    expect(printed).toMatch(/round \d+: .* PROMOTED/);
  });
});
