import { describe, expect, it } from 'vitest';
import { hybridRank, rank, sketch, STRATEGIES, uncertainty, type StrategyName } from '../../model/strategies.js';
import type { SparseMatrix } from '../../model/tfidf.js';

/** Dense rows → CSR (columns = positions of non-zeros). */
function sparse(rows: number[][]): SparseMatrix {
  const rowStart = [0];
  const cols: number[] = [];
  const vals: number[] = [];
  for (const row of rows) {
    row.forEach((v, j) => {
      if (v !== 0) {
        cols.push(j);
        vals.push(v);
      }
    });
    rowStart.push(cols.length);
  }
  return { dim: 64, rowStart: Int32Array.from(rowStart), cols: Int32Array.from(cols), vals: Float32Array.from(vals) };
}

const probs = [
  [0.9, 0.05, 0.05], // 0: confident
  [0.4, 0.35, 0.25], // 1: small margin, high entropy
  [0.5, 0.5, 0.0], // 2: zero margin, lower entropy than 1
  [0.6, 0.2, 0.2], // 3
  [0.34, 0.33, 0.33], // 4: the most uncertain by every measure
];

describe('uncertainty strategies', () => {
  it.each<[StrategyName, number[]]>([
    ['least_confidence', [4, 1, 2, 3, 0]],
    ['margin', [2, 4, 1, 3, 0]],
    ['entropy', [4, 1, 3, 2, 0]],
  ])('%s orders candidates %j', (strategy, expected) => {
    expect(Array.from(rank(strategy, { probabilities: probs, seed: 1, batchSize: 2 }))).toEqual(expected);
  });

  it('breaks ties in a seeded order, not by index', () => {
    const tied = Array.from({ length: 50 }, () => [0.5, 0.5]);
    const a = Array.from(rank('margin', { probabilities: tied, seed: 1, batchSize: 5 }));
    expect(a).toEqual(Array.from(rank('margin', { probabilities: tied, seed: 1, batchSize: 5 })));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('multi-label uncertainty follows the weakest per-label decision', () => {
    const u = uncertainty('margin', [[0.9, 0.1], [0.9, 0.55]], true);
    expect(u[1]).toBeGreaterThan(u[0]);
  });
});

describe('every strategy returns a permutation of the candidates', () => {
  const features = sparse(probs.map((_, i) => Array.from({ length: 8 }, (_, j) => ((i * 7 + j * 3) % 5 === 0 ? 1 : 0.2 * j))));
  it.each(STRATEGIES.map((s) => [s]))('%s', (strategy) => {
    const order = rank(strategy, { probabilities: strategy === 'cold_start' ? undefined : probs, features, seed: 3, batchSize: 3 });
    expect([...order].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('batch strategies', () => {
  // Two tight clusters of near-duplicates (0-3 and 4-7) and one outlier direction (8).
  const rows = [
    [1, 0, 0],
    [0.99, 0.01, 0],
    [0.98, 0.02, 0],
    [0.97, 0.03, 0],
    [0, 1, 0],
    [0.01, 0.99, 0],
    [0.02, 0.98, 0],
    [0.03, 0.97, 0],
    [0, 0, 1],
  ];
  const features = sparse(rows);
  // Cluster A is the most uncertain; margin alone would spend the whole batch there.
  const p = [
    [0.5, 0.5],
    [0.51, 0.49],
    [0.52, 0.48],
    [0.53, 0.47],
    [0.6, 0.4],
    [0.61, 0.39],
    [0.62, 0.38],
    [0.63, 0.37],
    [0.9, 0.1],
  ];

  it('margin alone takes near-duplicates; diverse_margin spreads the batch over clusters', () => {
    expect(Array.from(rank('margin', { probabilities: p, seed: 1, batchSize: 2 }).subarray(0, 2))).toEqual([0, 1]);
    const diverse = Array.from(rank('diverse_margin', { probabilities: p, features, seed: 1, batchSize: 2 }).subarray(0, 2));
    expect(diverse[0]).toBe(0);
    expect(diverse[1]).toBeGreaterThanOrEqual(4);
  });

  it('diverse_margin keeps away from already labelled tasks', () => {
    const labelledFeatures = sparse([[1, 0, 0]]);
    const first = rank('diverse_margin', { probabilities: p, features, labelledFeatures, seed: 1, batchSize: 1 })[0];
    expect(first).toBeGreaterThanOrEqual(4);
  });

  it('cold_start picks one representative per cluster, largest cluster first', () => {
    const many = sparse([...Array(30).fill([1, 0, 0]), ...Array(20).fill([0, 1, 0]), ...Array(3).fill([0, 0, 1])]);
    const batch = Array.from(rank('cold_start', { features: many, seed: 2, batchSize: 3 }).subarray(0, 3));
    expect(batch[0]).toBeLessThan(30);
    expect(batch[1]).toBeGreaterThanOrEqual(30);
    expect(batch[1]).toBeLessThan(50);
    expect(batch[2]).toBeGreaterThanOrEqual(50);
  });

  it.each([
    [0, 0],
    [0.5, 2],
    [1, 4],
  ])('hybrid with randomShare %f draws %d of a batch of 4 at random and flags them', (share, count) => {
    const { order, randomPick } = hybridRank({ probabilities: p, seed: 4, batchSize: 4, randomShare: share });
    expect(randomPick.reduce((a, b) => a + b, 0)).toBe(count);
    expect(new Set(order).size).toBe(p.length);
    if (share === 0) expect(Array.from(order.subarray(0, 4))).toEqual([0, 1, 2, 3]);
  });

  it('hybrid without a model falls back to cold start', () => {
    expect(Array.from(rank('hybrid', { features, seed: 2, batchSize: 2 }))).toEqual(Array.from(rank('cold_start', { features, seed: 2, batchSize: 2 })));
  });

  it('the sketch keeps rows unit-length', () => {
    const s = sketch(features, 16);
    for (let i = 0; i < rows.length; i++) {
      let n = 0;
      for (let d = 0; d < 16; d++) n += s[i * 16 + d] ** 2;
      expect(n).toBeCloseTo(1, 5);
    }
  });

  it('rejects missing inputs', () => {
    expect(() => rank('margin', { features, seed: 1, batchSize: 1 })).toThrow(/needs model probabilities/);
    expect(() => rank('cold_start', { probabilities: p, seed: 1, batchSize: 1 })).toThrow(/needs candidate features/);
    expect(() => rank('random', { seed: 1, batchSize: 0, candidates: 3 })).toThrow(/batchSize/);
  });
});
