import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../model/backend.js';

const run = promisify(execFile);
// A fresh process per case: the backend is chosen once per process.
const backendModule = new URL('../../model/backend.ts', import.meta.url).href;
const probe = `import { initBackend } from '${backendModule}';
const messages = [];
try { console.log(JSON.stringify({ backend: await initBackend({ forced: process.env.LABEL_LOOP_TF_BACKEND, log: (m) => messages.push(m) }), messages })); }
catch (error) { console.log(JSON.stringify({ error: error.message })); }`;

async function inChild(env: Record<string, string | undefined>): Promise<{ backend?: string; messages?: string[]; error?: string }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('initBackend', () => {
  it('is idempotent and activates the backend it reports', async () => {
    const first = await initBackend({ forced: process.env.LABEL_LOOP_TF_BACKEND as never });
    expect(await initBackend({ forced: process.env.LABEL_LOOP_TF_BACKEND as never })).toBe(first);
    expect(tf.getBackend()).toBe(first);
  });

  it('without an override, skips the absent tfjs-node and says why', async () => {
    const result = await inChild({ LABEL_LOOP_TF_BACKEND: undefined });
    expect(['tensorflow', 'wasm', 'cpu']).toContain(result.backend);
    expect(result.messages).toHaveLength(1);
    if (result.backend !== 'tensorflow') expect(result.messages![0]).toMatch(/skipped tensorflow: /);
  });

  it.each(['cpu', 'wasm'])('honours LABEL_LOOP_TF_BACKEND=%s', async (name) => {
    const result = await inChild({ LABEL_LOOP_TF_BACKEND: name });
    expect(result.backend).toBe(name);
    expect(result.messages![0]).toMatch(/forced by LABEL_LOOP_TF_BACKEND/);
  });

  it('rejects an unknown LABEL_LOOP_TF_BACKEND', async () => {
    expect((await inChild({ LABEL_LOOP_TF_BACKEND: 'webgpu' })).error).toMatch(/not one of tensorflow, wasm, cpu/);
  });
});
