/**
 * Small process and network helpers shared by the embedded Temporal and PostgreSQL launchers.
 */
import { type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
import { connect, createServer } from 'node:net';

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

/** Whether a process with this pid exists (EPERM: it does, but belongs to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
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

/** True when `port` can be bound on `host` right now (it may be taken a moment later). */
export function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1: one the OS picks, or, with `range` (e.g. from
 * TEST_PORT_RANGE=17000-17999, for machines where each person keeps to a block of ports),
 * a random free one inside it. `exclude` skips ports already handed out but not yet bound.
 */
export async function findFreePort(opts: { range?: { min: number; max: number }; exclude?: Iterable<number> } = {}): Promise<number> {
  const exclude = new Set(opts.exclude ?? []);
  if (!opts.range) {
    for (;;) {
      const port = await new Promise<number>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as { port: number };
          server.close(() => resolve(port));
        });
      });
      if (!exclude.has(port)) return port;
    }
  }
  const { min, max } = opts.range;
  const size = max - min + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = min + ((start + i) % size);
    if (!exclude.has(port) && (await canListen(port))) return port;
  }
  throw new Error(`No free TCP port in ${min}-${max}.`);
}

/** `17000-17999` → { min: 17000, max: 17999 }; undefined for unset or empty. */
export function parsePortRange(value: string | undefined, name = 'TEST_PORT_RANGE'): { min: number; max: number } | undefined {
  if (!value) return undefined;
  const match = /^(\d+)-(\d+)$/.exec(value.trim());
  const min = Number(match?.[1]);
  const max = Number(match?.[2]);
  if (!match || min < 1 || max > 65535 || min > max) throw new Error(`${name}=${JSON.stringify(value)}: expected MIN-MAX, e.g. 17000-17999`);
  return { min, max };
}
