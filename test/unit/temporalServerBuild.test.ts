/**
 * The build cache of infra/temporalServerBuild.ts with a fake `go` (a shell script), so the
 * concurrency and failure behaviour is tested in milliseconds; the real build runs in the
 * temporal-server tier.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTemporalServerDist, labelLoopCacheDir } from '../../infra/temporalServerBuild.js';

let dir: string;
let fakeGo: string;
const savedGo = process.env.GO;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-build-test-'));
  // A module source tree with the files the build copies.
  const source = path.join(dir, 'modsrc');
  await mkdir(path.join(source, 'config', 'dynamicconfig'), { recursive: true });
  await mkdir(path.join(source, 'schema', 'postgresql', 'v12', 'temporal', 'versioned', 'v1.0'), { recursive: true });
  await writeFile(path.join(source, 'config', 'development-postgres12.yaml'), 'persistence: {}\n');
  await writeFile(path.join(source, 'config', 'dynamicconfig', 'development-sql.yaml'), 'limit.maxIDLength: []\n');
  await writeFile(path.join(source, 'schema', 'postgresql', 'v12', 'temporal', 'versioned', 'v1.0', 'manifest.json'), '{}');
  // `go install X@vV` writes a binary into $GOBIN after a pause (so concurrent callers overlap);
  // FAIL_BUILD makes it fail; every call is counted in $COUNT_FILE.
  fakeGo = path.join(dir, 'go');
  await writeFile(
    fakeGo,
    `#!/bin/sh
set -e
echo "$*" >> "$COUNT_FILE"
case "$1" in
  install)
    [ -z "$FAIL_BUILD" ] || { echo "compile error" >&2; exit 2; }
    sleep 0.3
    name=$(basename "\${2%@*}")
    printf '#!/bin/sh\\necho "temporal version 1.29.1"\\n' > "$GOBIN/$name"
    chmod +x "$GOBIN/$name" ;;
  mod) echo '{"Dir": "${source}"}' ;;
esac
`,
  );
  await chmod(fakeGo, 0o755);
  process.env.GO = fakeGo;
});

afterAll(async () => {
  if (savedGo === undefined) delete process.env.GO;
  else process.env.GO = savedGo;
  await rm(dir, { recursive: true, force: true });
});

describe('ensureTemporalServerDist', () => {
  it('builds once for concurrent callers, who all get the complete result', async () => {
    const cacheDir = path.join(dir, 'cache-concurrent');
    process.env.COUNT_FILE = path.join(dir, 'count-concurrent');
    const results = await Promise.all([1, 2, 3].map(() => ensureTemporalServerDist({ cacheDir })));
    for (const r of results) expect(r).toEqual(results[0]);
    const calls = (await readFile(process.env.COUNT_FILE, 'utf8')).trim().split('\n');
    expect(calls.filter((c) => c.startsWith('install'))).toEqual([
      'install go.temporal.io/server/cmd/server@v1.29.1',
      'install go.temporal.io/server/cmd/tools/sql@v1.29.1',
    ]);
    expect(await readFile(results[0].serverBinary, 'utf8')).toContain('temporal version');
    expect(await readdir(path.join(results[0].postgresSchemaDir, 'temporal', 'versioned'))).toEqual(['v1.0']);
    // No staging directories or lock left behind.
    expect((await readdir(path.join(cacheDir, 'temporal-server-1.29.1'))).sort()).toEqual(['dist']);

    // A later call is a cache hit: no go at all.
    await ensureTemporalServerDist({ cacheDir });
    expect((await readFile(process.env.COUNT_FILE, 'utf8')).trim().split('\n')).toHaveLength(calls.length);
  });

  it('leaves nothing that looks built when the build fails, and reports the compiler output', async () => {
    const cacheDir = path.join(dir, 'cache-failing');
    // A staging dir left by a killed build is cleaned up by the next build.
    await mkdir(path.join(cacheDir, 'temporal-server-1.29.1', '.dist-99999-deadbeef', 'bin'), { recursive: true });
    process.env.COUNT_FILE = path.join(dir, 'count-failing');
    process.env.FAIL_BUILD = '1';
    try {
      await expect(ensureTemporalServerDist({ cacheDir })).rejects.toThrow(/go install go\.temporal\.io\/server\/cmd\/server@v1\.29\.1 failed: compile error/);
    } finally {
      delete process.env.FAIL_BUILD;
    }
    expect(await readdir(path.join(cacheDir, 'temporal-server-1.29.1'))).toEqual([]);
    // The next attempt builds (the failure was not cached, the lock was released).
    await expect(ensureTemporalServerDist({ cacheDir })).resolves.toMatchObject({ version: '1.29.1' });
  });

  it('puts the cache under LABEL_LOOP_CACHE_DIR, else XDG_CACHE_HOME, else ~/.cache', () => {
    expect(labelLoopCacheDir({ LABEL_LOOP_CACHE_DIR: '/x/cache' })).toBe('/x/cache');
    expect(labelLoopCacheDir({ XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/label-loop');
    expect(labelLoopCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'label-loop'));
  });
});
