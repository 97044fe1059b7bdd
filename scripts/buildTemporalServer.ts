/**
 * `npm run build:temporal-server`: builds (once) the production Temporal server that the
 * temporal-server test tier runs (infra/temporalServerBuild.ts), in the foreground.
 *
 * `--background` (what `npm test` does first): returns at once and builds in a detached process
 * at the lowest CPU priority (nice 19), so a cold build (several minutes on two cores) overlaps the
 * unit, integration and end-to-end tiers, taking only the CPU they leave idle, instead of adding to
 * CI's wall time. The temporal-server tier then waits on the build's lock file for what is left.
 * Nothing happens when the build is cached; a failed build (no Go, say) is in the log, and the
 * temporal-server tier tries again and reports it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureTemporalServerDist, isTemporalServerBuilt, labelLoopCacheDir, TEMPORAL_SERVER_VERSION, temporalServerBuildDir } from '../infra/temporalServerBuild.js';

const { values } = parseArgs({ options: { background: { type: 'boolean', default: false }, nice: { type: 'boolean', default: false } } });
const cacheDir = labelLoopCacheDir();

if (values.background) {
  if (await isTemporalServerBuilt({ cacheDir })) process.exit(0);
  const dir = temporalServerBuildDir({ cacheDir });
  mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'background-build.log');
  const out = openSync(logFile, 'a');
  // The same Node with the same loader flags (tsx), this very script, in the foreground and niced.
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--nice'], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  console.log(`Temporal server v${TEMPORAL_SERVER_VERSION}: not built yet; building in the background at low priority (process ${child.pid}, log ${logFile})`);
  process.exit(0);
}

if (values.nice) {
  try {
    os.setPriority(19); // inherited by `go` and its compilers
  } catch {
    // not permitted: build at normal priority
  }
}
const t0 = performance.now();
const dist = await ensureTemporalServerDist({ cacheDir, log: (m) => console.log(`${new Date().toISOString()} ${m}`) });
console.log(`${new Date().toISOString()} Temporal server v${dist.version} ready: ${dist.serverBinary} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
