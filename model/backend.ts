/**
 * Chooses and initialises the TensorFlow.js backend once per process, and re-exports the tfjs-core
 * namespace so all model code uses the same engine.
 *
 * Preference: tensorflow (tfjs-node) → wasm → cpu. wasm stays ahead of cpu because it measured faster
 * for everything this project runs (bench/model.ts, 2-core dev machine, defaults in classifier.ts):
 * training on 2,000 e-mails 0.69 s vs 1.49 s, predicting 10,000 0.69 s vs 1.30 s, same held-out accuracy,
 * with all model tests passing on both. In Node the wasm backend runs its single-threaded SIMD binary
 * (tfjs disables wasm threads under Node). Training is deterministic per backend, but cpu and wasm
 * sum in different orders, so the same run gives slightly different weight bytes on each: keep one
 * backend per deployment (e.g. via LABEL_LOOP_TF_BACKEND) if byte-identical retrains matter.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

export { tf };

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Configuration variable that forces one backend (read by worker/config.ts). */
const BACKEND_ENV = 'LABEL_LOOP_TF_BACKEND';

const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let chosen: Promise<BackendName> | null = null;

/**
 * Selects the fastest backend that loads: tfjs-node (`tensorflow`, native libtensorflow) if installed,
 * else `wasm`, else `cpu`. Idempotent: later calls return the first call's promise. Logs the choice and
 * why each faster option was skipped.
 */
export function initBackend(opts: { forced?: BackendName; log?: (msg: string) => void } = {}): Promise<BackendName> {
  const log = opts.log ?? (() => undefined);
  chosen ??= chooseBackend(opts.forced, log).catch((error: unknown) => {
    chosen = null; // a forced backend that failed may be retried after the environment is fixed
    throw error;
  });
  return chosen;
}

async function chooseBackend(forced: BackendName | undefined, log: (msg: string) => void): Promise<BackendName> {
  // tfjs warnings go straight to console.warn (e.g. the "install tfjs-node" banner on every cpu start);
  // prod mode silences them, and this module logs the backend decision itself.
  tf.env().set('PROD', true);

  if (forced) {
    if (!BACKENDS.includes(forced as BackendName)) {
      throw new Error(`${BACKEND_ENV}="${forced}" is not one of ${BACKENDS.join(', ')}`);
    }
    const failure = await tryBackend(forced as BackendName);
    if (failure !== null) throw new Error(`${BACKEND_ENV}=${forced} but that backend failed: ${failure}`);
    log(`tfjs backend: ${forced} (forced by ${BACKEND_ENV})`);
    return forced as BackendName;
  }

  const skipped: string[] = [];
  for (const name of BACKENDS) {
    const failure = await tryBackend(name);
    if (failure === null) {
      log(`tfjs backend: ${name}${skipped.length > 0 ? ` (skipped ${skipped.join('; ')})` : ''}`);
      return name;
    }
    skipped.push(`${name}: ${failure}`);
  }
  throw new Error(`no tfjs backend could be initialised: ${skipped.join('; ')}`);
}

/** Activates `name`; returns null on success or a one-line reason it cannot be used. */
async function tryBackend(name: BackendName): Promise<string | null> {
  try {
    if (name === 'tensorflow') {
      // Optional dependency: its install downloads libtensorflow, so it is often absent. A variable
      // specifier keeps TypeScript from resolving (and requiring) its types at compile time.
      const specifier = '@tensorflow/tfjs-node';
      await import(specifier);
    }
    if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // In Node the backend would otherwise look for the .wasm binaries next to the calling script.
      // Node gets the single-threaded SIMD binary: the backend disables threads under Node.
      wasm.setWasmPaths(wasmDirectory());
    }
    if (!(await tf.setBackend(name))) return 'backend failed to initialise';
    await tf.ready();
    return null;
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).split('\n')[0];
  }
}

/** Directory (with trailing separator) holding tfjs-backend-wasm's .wasm binaries inside node_modules. */
function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  // The package's main entry is dist/tf-backend-wasm.node.js; the binaries sit beside it.
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  if (!existsSync(path.join(dist, 'tfjs-backend-wasm-simd.wasm'))) {
    throw new Error(`tfjs-backend-wasm binaries not found in ${dist}`);
  }
  return dist + path.sep;
}
