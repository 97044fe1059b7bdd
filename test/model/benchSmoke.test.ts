import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBenchmark } from '../../bench/labelEfficiency.js';

// Runs the label-efficiency benchmark in --smoke mode (tiny subsets, one seed, no Python), so the
// benchmark cannot rot. Asserts structure, not timings.
describe('bench/labelEfficiency.ts --smoke', () => {
  it('runs every part and writes its result files', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'label-loop-smoke-'));
    try {
      const summary = await runBenchmark({ smoke: true, seeds: 1, parts: ['compare', 'al', 'evaluation', 'speed', 'cost'], datasets: ['spam', 'brown'], out, log: () => {} });
      expect(summary.smoke).toBe(true);
      for (const file of ['compare', 'al', 'al-curves', 'evaluation', 'gate', 'speed', 'strategy-cost', 'summary']) {
        expect(JSON.parse(readFileSync(path.join(out, `${file}.json`), 'utf8'))).toBeTruthy();
      }
      const al = JSON.parse(readFileSync(path.join(out, 'al.json'), 'utf8')) as { run: string; accuracy: number }[];
      expect(new Set(al.map((p) => p.run)).size).toBeGreaterThanOrEqual(8);
      expect(al.every((p) => p.accuracy >= 0 && p.accuracy <= 1)).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
