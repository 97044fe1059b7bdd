/**
 * Small process and network helpers shared by the embedded Temporal and PostgreSQL launchers.
 */
import { type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';

/** True when something accepts a TCP connection on host:port within `timeoutMs`. */
export function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The last `maxBytes` of a log file from byte offset `from` on, for error messages ('' when the
 * file is missing).
 */
export async function tailFile(path: string, from = 0, maxBytes = 4000): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.max(0, Math.min(size - from, maxBytes));
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether the child process has already exited (or was killed). */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves true once `child` has exited, or false after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/**
 * Signal `child` and wait for it; escalate to `escalation` (SIGKILL by default) if it is still
 * running after `graceMs`. Safe to call on a process that has already exited.
 */
export async function terminate(
  child: ChildProcess,
  { signal = 'SIGTERM', graceMs = 15_000, escalation = 'SIGKILL' }: { signal?: NodeJS.Signals; graceMs?: number; escalation?: NodeJS.Signals } = {},
): Promise<void> {
  if (hasExited(child)) return;
  child.kill(signal);
  if (await waitForExit(child, graceMs)) return;
  child.kill(escalation);
  await waitForExit(child, 10_000);
}

/**
 * Signal `child` when this Node process exits without having stopped it (process.exit, an uncaught
 * error, the event loop draining). Without this a crashed test run leaves servers behind on random
 * ports. A SIGKILLed parent still leaks its servers; the next start on the same data dir then
 * reuses them. Returns the function that removes the hook, to call from stop().
 */
export function stopOnParentExit(child: ChildProcess, signal: NodeJS.Signals): () => void {
  const onExit = () => {
    if (!hasExited(child)) child.kill(signal);
  };
  process.on('exit', onExit);
  return () => process.off('exit', onExit);
}
