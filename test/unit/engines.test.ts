import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../worker/config.js';

// `engines` is a promise to users: every installed dependency must support every Node version it
// names (cookie@2, pulled in by fastify's light-my-request, wants Node ≥ 22 while we also run on
// 20; package.json overrides it to a release that supports 20).
describe('engines', () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
  const ours: string = pkg.engines.node;

  it('names the maintained Node LTS lines (22, 24) and keeps 20.19 only while dependencies allow it', () => {
    for (const v of ['22.13.0', '24.0.0']) expect(semver.satisfies(v, ours)).toBe(true);
    expect(semver.satisfies(process.versions.node, ours)).toBe(true);
  });

  it('is supported by every installed dependency', () => {
    const unsupported = Object.entries(lock.packages as Record<string, { version: string; engines?: { node?: string }; optional?: boolean }>)
      .filter(([p, info]) => p && info.engines?.node && !(info.optional && !existsSync(path.join(REPO_ROOT, p))))
      .filter(([, info]) => !semver.subset(ours, info.engines!.node!))
      .map(([p, info]) => `${p.replace(/^.*node_modules\//, '')}@${info.version} wants node ${info.engines!.node}`);
    expect(unsupported).toEqual([]);
  });
});
