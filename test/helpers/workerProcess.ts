import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';
import { REPO_ROOT } from '../../worker/config.js';

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** SIGKILL: no graceful shutdown, no last heartbeat, exactly like a crashed machine. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** A real `worker` process (the same entry point operators run) on the harness's queue. */
export function startWorkerProcess(env: Record<string, string>): WorkerProcess {
  return startLabelLoopProcess('worker', env);
}

/** A real `api` process (HTTP API and webhook forwarder); LABEL_LOOP_PORT in `env` says where. */
export function startApiProcess(env: Record<string, string>): WorkerProcess {
  return startLabelLoopProcess('api', env);
}

function startLabelLoopProcess(command: 'worker' | 'api', env: Record<string, string>): WorkerProcess {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'cli', 'main.ts'), command], {
    cwd: REPO_ROOT,
    env: { ...process.env, LABEL_LOOP_WORKFLOW_BUNDLE: inject('workflowBundlePath'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
