import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { REPO_ROOT } from '../../worker/config.js';
import { WORKFLOWS_PATH } from '../../worker/runWorker.js';

const dir = path.join(REPO_ROOT, 'test/fixtures/histories');

// Histories recorded from real runs (see test/integration/replay.integration.test.ts). A change to
// workflow code that would break running workflows fails here, without any server.
describe('recorded workflow histories', () => {
  it('replay against the current workflow code', async () => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(3);
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
    const histories = await Promise.all(
      files.map(async (f) => ({ workflowId: f, history: JSON.parse(await readFile(path.join(dir, f), 'utf8')) })),
    );
    const errors: Record<string, string | null> = {};
    for await (const r of Worker.runReplayHistories({ workflowBundle }, histories)) errors[r.workflowId] = r.error?.message ?? null;
    expect(errors).toEqual(Object.fromEntries(files.map((f) => [f, null])));
  });
});
