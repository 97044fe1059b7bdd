import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { Worker } from '@temporalio/worker';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findOrInstallTemporalCli } from '../../infra/temporal.js';
import { createHarness, uniqueProjectId, type Harness } from '../helpers/harness.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';
import { loopWorkflowId, roundWorkflowId } from '../../contract/index.js';
import { loadConfig, REPO_ROOT } from '../../worker/config.js';
import { temporalTools } from '../../worker/services.js';

const execFileAsync = promisify(execFile);

/**
 * Records fresh histories of a loop (with a round, a rejected round and continue-as-new) and
 * replays them against the current workflow code. `RECORD_HISTORIES=1` also refreshes the
 * fixtures that test/unit/replay.test.ts replays in every CI run.
 */
describe('workflow replay', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ env: { LABEL_LOOP_MIN_ANNOTATIONS: '20', LABEL_LOOP_QUIET_PERIOD_MS: '500', LABEL_LOOP_MAX_WAIT_MS: '60000' } });
  });
  afterAll(async () => h?.close());

  it('replays recorded loop and round histories without non-determinism', async () => {
    const projectId = uniqueProjectId();
    const { tasks, labelOf } = spamTasks(80, 1);
    await h.post('/setup', { project: `${projectId}.1`, schema: SPAM_CONFIG });
    await h.post('/webhook', tasksCreated(projectId, tasks));
    await Promise.all(tasks.slice(0, 40).map((t, i) => h.post('/webhook', annotationEvent('ANNOTATION_CREATED', projectId, t, i + 1, [labelOf.get(t.id)!]))));
    await h.waitForRounds(projectId, 1);
    await h.post(`/api/projects/${projectId}/rounds`, { overrides: { epochs: 0 } });
    const status = await h.waitForRounds(projectId, 2);
    expect(status.lastRound!.promoted).toBe(false);

    const histories = await Promise.all(
      [loopWorkflowId(projectId), roundWorkflowId(projectId, 1), roundWorkflowId(projectId, 2)].map(async (workflowId) => ({
        workflowId,
        history: await h.client.workflow.getHandle(workflowId).fetchHistory(),
      })),
    );
    if (process.env.RECORD_HISTORIES === '1') {
      // The CLI's JSON is the documented replayable format (historyToJSON trips over duplicate
      // protobufjs copies in node_modules).
      const cli = await findOrInstallTemporalCli(temporalTools(loadConfig(process.env)));
      const names = ['project-loop.json', 'training-round-promoted.json', 'training-round-rejected.json'];
      for (const [i, x] of histories.entries()) {
        const { stdout } = await execFileAsync(cli!, ['workflow', 'show', '-w', x.workflowId, '--address', h.temporalAddress, '--output', 'json'], {
          maxBuffer: 64 * 1024 * 1024,
        });
        await writeFile(path.join(REPO_ROOT, 'test/fixtures/histories', names[i]), stdout);
      }
    }
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, histories)) {
      results.push(r);
    }
    expect(results.map((r) => r.error?.message ?? null)).toEqual([null, null, null]);
  });
});
