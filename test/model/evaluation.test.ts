import { describe, expect, it } from 'vitest';
import {
  calibrationOf,
  expectedCalibrationError,
  fitTemperature,
  mcnemar,
  mcnemarFromCounts,
  normalQuantile,
  pairedBootstrap,
  promotionDecision,
  stratifiedKFold,
  wilsonInterval,
} from '../../model/evaluation.js';
import { mulberry32 } from '../../model/random.js';

describe('stratifiedKFold', () => {
  it('spreads every stratum evenly and is a pure function of (strata, k, seed)', () => {
    const strata = [...Array(30).fill('a'), ...Array(9).fill('b'), ...Array(4).fill('c')];
    const folds = stratifiedKFold(strata, 3, 7);
    expect(Array.from(folds)).toEqual(Array.from(stratifiedKFold(strata, 3, 7)));
    for (const s of ['a', 'b', 'c']) {
      const counts = [0, 0, 0];
      strata.forEach((x, i) => x === s && counts[folds[i]]++);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
    const sizes = [0, 0, 0];
    folds.forEach((f) => sizes[f]++);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(Array.from(stratifiedKFold(strata, 3, 8))).not.toEqual(Array.from(folds));
  });

  it.each([
    [[1, 2, 3], 1, /k must be/],
    [[1, 2], 3, /cannot fill/],
  ])('rejects %j with k %d', (strata, k, message) => {
    expect(() => stratifiedKFold(strata, k, 1)).toThrow(message);
  });
});

describe('wilsonInterval', () => {
  it.each([
    // successes, n, low, high (Wilson 95%, checked against statsmodels proportion_confint(method="wilson"))
    [81, 263, 0.2553, 0.3662],
    [0, 10, 0, 0.2775],
    [10, 10, 0.7225, 1],
    [50, 100, 0.4038, 0.5962],
  ])('%d/%d → [%f, %f]', (k, n, low, high) => {
    const w = wilsonInterval(k, n);
    expect(w.estimate).toBeCloseTo(k / n, 10);
    expect(w.low).toBeCloseTo(low, 3);
    expect(w.high).toBeCloseTo(high, 3);
  });

  it('gives [0, 1] for no items and rejects impossible counts', () => {
    expect(wilsonInterval(0, 0)).toEqual({ estimate: 0, low: 0, high: 1 });
    expect(() => wilsonInterval(3, 2)).toThrow();
  });

  it('normalQuantile matches the usual table values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 10);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
  });
});

describe('McNemar', () => {
  it.each([
    // b, c, exact p, mid-p: Binomial(n, ½) tails computed by hand
    [1, 9, 0.021484375, 0.01171875], // 2·(1 + 10)/1024 and minus 10/1024
    [0, 5, 0.0625, 0.03125],
    [3, 3, 1, 1],
    [0, 0, 1, 1],
  ])('b=%d c=%d → exact %f, mid-p %f', (b, c, exact, mid) => {
    const r = mcnemarFromCounts(b, c);
    expect(r.exactP).toBeCloseTo(exact, 10);
    expect(r.midP).toBeCloseTo(mid, 10);
  });

  it('counts discordant pairs from correctness vectors (textbook table: 59 vs 6 discordant)', () => {
    // Agresti's presidential-approval table: 794 / 150 / 86 / 570; the discordant cells 150 and 86.
    const a: boolean[] = [];
    const b: boolean[] = [];
    const push = (x: boolean, y: boolean, n: number) => {
      for (let i = 0; i < n; i++) {
        a.push(x);
        b.push(y);
      }
    };
    push(true, true, 794);
    push(true, false, 150);
    push(false, true, 86);
    push(false, false, 570);
    const r = mcnemar(a, b);
    expect([r.aOnly, r.bOnly]).toEqual([150, 86]);
    // The chi-square version gives z² = 17.36 (p ≈ 3.1e-5); the exact test is of the same order.
    expect(r.exactP).toBeLessThan(1e-4);
    expect(r.exactP).toBeGreaterThan(1e-5);
  });
});

describe('pairedBootstrap', () => {
  it('covers the true accuracy difference on synthetic data and is seeded', () => {
    const random = mulberry32(5);
    const n = 2000;
    const truth: string[] = [];
    const a: string[] = [];
    const b: string[] = [];
    for (let i = 0; i < n; i++) {
      const y = random() < 0.5 ? 'x' : 'y';
      const other = y === 'x' ? 'y' : 'x';
      truth.push(y);
      a.push(random() < 0.8 ? y : other); // true accuracy 0.80
      b.push(random() < 0.85 ? y : other); // true accuracy 0.85
    }
    const r = pairedBootstrap({ truth, predictedA: a, predictedB: b, seed: 1, resamples: 1000 });
    expect(r.low).toBeLessThan(0.05);
    expect(r.high).toBeGreaterThan(0.05);
    expect(r.low).toBeGreaterThan(0);
    expect(r.shareNotBetter).toBeLessThan(0.01);
    expect(pairedBootstrap({ truth, predictedA: a, predictedB: b, seed: 1, resamples: 1000 })).toEqual(r);
    const f1 = pairedBootstrap({ truth, predictedA: a, predictedB: b, seed: 1, resamples: 200, metric: 'macroF1' });
    expect(f1.difference).toBeGreaterThan(0);
  });

  it('gives a zero difference for identical predictions', () => {
    const r = pairedBootstrap({ truth: ['a', 'b', 'a'], predictedA: ['a', 'a', 'a'], predictedB: ['a', 'a', 'a'], seed: 2, resamples: 50 });
    expect([r.difference, r.low, r.high, r.shareNotBetter]).toEqual([0, 0, 0, 1]);
  });
});

describe('promotionDecision', () => {
  const truth = Array.from({ length: 100 }, (_, i) => (i % 2 ? 'a' : 'b'));
  const flip = (p: string) => (p === 'a' ? 'b' : 'a');
  const withErrors = (errors: number[]) => truth.map((t, i) => (errors.includes(i) ? flip(t) : t));
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  it.each([
    // superset?, champion errors, candidate errors, promote?
    [true, range(0, 5), range(0, 7), true], // slightly worse, not significant: more labels win
    [true, range(0, 5), range(0, 25), false], // significantly worse
    [false, range(0, 7), range(0, 5), false], // slightly better is not enough without more labels
    [false, range(0, 25), range(0, 5), true], // significantly better
  ])('superset %s: promote = %s', (superset, championErrors, candidateErrors, promote) => {
    const d = promotionDecision({ truth, champion: withErrors(championErrors), candidate: withErrors(candidateErrors), candidateHasSupersetOfLabels: superset });
    expect(d.promote).toBe(promote);
    expect(d.reason).toMatch(promote ? /^promoted/ : /^kept out/);
  });
});

describe('calibration', () => {
  it('fitTemperature recovers the temperature that generated the labels', () => {
    const random = mulberry32(3);
    const n = 4000;
    const K = 3;
    const scores = new Float64Array(n * K);
    const targets = new Int32Array(n);
    const trueT = 2.5;
    for (let i = 0; i < n; i++) {
      const z = [0, 1, 2].map(() => 4 * random());
      z.forEach((v, k) => (scores[i * K + k] = v));
      const e = z.map((v) => Math.exp(v / trueT));
      const s = e.reduce((a, b) => a + b, 0);
      let u = random() * s;
      let y = 0;
      while (u > e[y] && y < K - 1) u -= e[y++];
      targets[i] = y;
    }
    const { temperature } = fitTemperature({ scores, width: K, targets, multiLabel: false });
    expect(temperature).toBeGreaterThan(2.1);
    expect(temperature).toBeLessThan(3);
  });

  it('expectedCalibrationError: known value on a hand-made example', () => {
    // Bin [0.8, 0.867): confidences 0.8 ×4, 3 right → |0.75 − 0.8| · 4/5; bin of 0.95: 1 right → 0.05 · 1/5.
    const r = expectedCalibrationError([0.8, 0.8, 0.8, 0.8, 0.95], [1, 1, 1, 0, 1]);
    expect(r.ece).toBeCloseTo(0.05 * 0.8 + 0.05 * 0.2, 10);
    expect(r.bins.reduce((a, b) => a + b.count, 0)).toBe(5);
    expect(expectedCalibrationError([], []).ece).toBe(0);
  });

  it('calibrationOf scores top-label confidence (single-label) and every decision (multi-label)', () => {
    const single = calibrationOf([['a'], ['b']], [[0.9, 0.1], [0.6, 0.4]], { labels: ['a', 'b'], multiLabel: false });
    expect(single.ece).toBeCloseTo((0.1 + 0.6) / 2, 10);
    const multi = calibrationOf([['a']], [[0.9, 0.2]], { labels: ['a', 'b'], multiLabel: true });
    expect(multi.ece).toBeCloseTo((0.1 + 0.2) / 2, 10);
  });
});
