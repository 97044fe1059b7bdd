/**
 * `tsx worker/bundleWorkflows.ts [out]` (npm run bundle:workflows): bundles the workflow code with
 * Temporal's webpack setup once, into `out` (default `dist/workflow-bundle.js`). A worker started
 * with LABEL_LOOP_WORKFLOW_BUNDLE=<out> loads it instead of running webpack at every start; the
 * Dockerfile does this at image build time, so the runtime image needs no bundler dev tooling.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { REPO_ROOT } from './config.js';
import { WORKFLOWS_PATH } from './runWorker.js';

const out = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, 'dist', 'workflow-bundle.js'));
const t0 = performance.now();
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined });
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, code);
console.log(`[label-loop] workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB, ${Math.round(performance.now() - t0)} ms)`);
