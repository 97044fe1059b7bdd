import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTemporalDevServer, type TemporalDevServer } from '../../infra/index.js';
import { SEARCH_ATTRIBUTES, roundWorkflowId } from '../../contract/index.js';
import { REPO_ROOT } from '../../worker/config.js';
import { temporalTools } from '../../worker/services.js';
import { freePort } from '../helpers/globalSetup.js';
import { createHarness, testConfig, waitFor, type Harness } from '../helpers/harness.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT_DIR = path.join(REPO_ROOT, 'test-output', 'temporal-ui');

/**
 * Checked as an operator would, in headless Chromium against the Temporal dev server's own Web UI:
 * filter the workflows by Label Loop's search attributes, open a running round and see its live
 * progress in Current Details, see a finished round's outcome. Screenshots go to test-output/.
 */
describe('the Temporal Web UI shows Label Loop', () => {
  let dir: string;
  let server: TemporalDevServer;
  let h: Harness;
  let browser: Browser;
  let page: Page;
  const projectId = 838_383;
  const { tasks, labelOf } = spamTasks(200, 83_000_000);

  const shot = (name: string) => page.screenshot({ path: path.join(OUTPUT_DIR, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-ui-'));
    await mkdir(OUTPUT_DIR, { recursive: true });
    const port = await freePort();
    server = await startTemporalDevServer({
      tools: temporalTools(testConfig()),
      dataDir: path.join(dir, 'temporal'),
      port,
      uiPort: await freePort(),
      searchAttributes: { ...SEARCH_ATTRIBUTES },
    });
    h = await createHarness({ temporalAddress: server.address, env: { LABEL_LOOP_MIN_ANNOTATIONS: '1000000', LABEL_LOOP_MAX_WAIT_MS: '86400000' } });
    expect((await h.post('/setup', { project: `${projectId}.1`, schema: SPAM_CONFIG })).status).toBe(200);
    expect((await h.post('/webhook', tasksCreated(projectId, tasks))).status).toBe(200);
    for (const [i, t] of tasks.slice(0, 60).entries()) {
      expect((await h.post('/webhook', annotationEvent('ANNOTATION_CREATED', projectId, t, 93_000_000 + i, [labelOf.get(t.id)!]))).status).toBe(200);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('filters rounds by project and outcome, and shows a running round\'s live progress', async () => {
    // Round 1 promotes; round 2 trains for long enough to be watched.
    expect((await h.post(`/api/projects/${projectId}/rounds`, {})).status).toBe(202);
    await h.waitForRounds(projectId, 1);
    const ui = server.uiUrl!;

    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(`LabelLoopProjectId = ${projectId} AND LabelLoopRoundOutcome = "promoted"`)}`);
    await page.getByText(roundWorkflowId(projectId, 1), { exact: true }).first().waitFor({ timeout: 60_000 });
    await shot('1-filtered-promoted-rounds');
    await expect(page.getByText(roundWorkflowId(projectId, 2), { exact: true }).count()).resolves.toBe(0);

    expect((await h.post(`/api/projects/${projectId}/rounds`, { overrides: { epochs: 1_000_000, tolerance: 0 } })).status).toBe(202);
    await waitFor('round 2 to train', async () => (await h.get(`/api/projects/${projectId}/status`)).body.progress?.step === 'train', 120_000, 100);
    const run = await h.client.workflow.getHandle(roundWorkflowId(projectId, 2)).describe();
    await page.goto(`${ui}/namespaces/default/workflows/${roundWorkflowId(projectId, 2)}/${run.runId}/history`);
    // The summary the round was started with, and the step it runs with its progress.
    await page.getByText(`Project ${projectId} · round 2`).first().waitFor({ timeout: 60_000 });
    // The UI shows summary, details and the current details under "User Metadata".
    await page.getByText('User Metadata', { exact: true }).first().click();
    // Markdown is rendered in sandboxed iframes: look for the progress in any frame of the page.
    const inSomeFrame = (text: RegExp) => waitFor(`"${text.source}" on the page`, async () => {
      for (const frame of page.frames()) if ((await frame.getByText(text).count().catch(() => 0)) > 0) return true;
      return false;
    }, 60_000, 500);
    await inSomeFrame(/epoch \d+ of 1000000, loss/);
    await inSomeFrame(/✓ export/);
    await shot('2-running-round-current-details');
    // The pending training activity shows the same progress as its last heartbeat.
    await page.getByText(/^Pending Activities/).first().click();
    await inSomeFrame(/epoch \d+ of 1000000, loss/);
    await shot('3-running-round-pending-activity');
    await h.client.workflow.getHandle(roundWorkflowId(projectId, 2)).terminate('test over');
  });
});
