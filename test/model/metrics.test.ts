import { describe, expect, it } from 'vitest';
import { evaluate, majorityBaseline, type LabelSpace } from '../../model/metrics.js';

const abc: LabelSpace = { labels: ['a', 'b', 'c'], multiLabel: false };
const ab: LabelSpace = { labels: ['a', 'b'], multiLabel: false };
const xy: LabelSpace = { labels: ['x', 'y'], multiLabel: true };
const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;

describe('evaluate', () => {
  it('single-label: accuracy, per-class F1, macro F1 and log-loss', () => {
    const truth = [['a'], ['a'], ['b'], ['c']];
    const probs = [
      [0.7, 0.2, 0.1], // → a, right
      [0.2, 0.5, 0.3], // → b, wrong
      [0.1, 0.8, 0.1], // → b, right
      [0.3, 0.3, 0.4], // → c, right
    ];
    const m = evaluate(truth, probs, abc);
    expect(m.n).toBe(4);
    expect(m.accuracy).toBeCloseTo(0.75, 12);
    // a: TP 1, FN 1 → 2/3; b: TP 1, FP 1 → 2/3; c: TP 1 → 1
    expect(m.perClassF1.a).toBeCloseTo(2 / 3, 12);
    expect(m.perClassF1.b).toBeCloseTo(2 / 3, 12);
    expect(m.perClassF1.c).toBeCloseTo(1, 12);
    expect(m.macroF1).toBeCloseTo((2 / 3 + 2 / 3 + 1) / 3, 12);
    expect(m.logLoss).toBeCloseTo(-mean([Math.log(0.7), Math.log(0.2), Math.log(0.8), Math.log(0.4)]), 12);
  });

  it('leaves a class that is neither true nor predicted out of perClassF1 and macroF1', () => {
    const m = evaluate([['a'], ['b']], [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]], abc);
    expect(m.perClassF1).toEqual({ a: 1, b: 1 });
    expect(m.macroF1).toBe(1);
  });

  it('scores a class that is predicted but never true as F1 0', () => {
    const m = evaluate([['a'], ['a']], [[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]], abc);
    expect(m.perClassF1).toEqual({ a: 2 / 3, c: 0 });
  });

  it('breaks argmax ties toward the earlier label', () => {
    expect(evaluate([['a']], [[0.5, 0.5]], ab).accuracy).toBe(1);
  });

  it('multi-label: subset accuracy, per-label F1 and mean binary cross-entropy', () => {
    const truth = [['x'], ['x', 'y'], []];
    const probs = [
      [0.9, 0.2], // {x}: exact
      [0.6, 0.4], // {x}: misses y
      [0.1, 0.7], // {y}: wrong, truth is {}
    ];
    const m = evaluate(truth, probs, xy);
    expect(m.accuracy).toBeCloseTo(1 / 3, 12);
    expect(m.perClassF1).toEqual({ x: 1, y: 0 });
    expect(m.macroF1).toBeCloseTo(0.5, 12);
    const bce = [0.9, 0.8, 0.6, 0.4, 0.9, 0.3].map((p) => -Math.log(p));
    expect(m.logLoss).toBeCloseTo(mean(bce), 12);
  });

  it('multi-label: p = 0.5 counts as predicted', () => {
    expect(evaluate([['x']], [[0.5, 0.49]], xy).accuracy).toBe(1);
  });

  it.each([
    ['single-label', abc],
    ['multi-label', xy],
  ])('%s with n = 0 gives zeros, not NaN', (_name, spec) => {
    expect(evaluate([], [], spec)).toEqual({ n: 0, accuracy: 0, macroF1: 0, perClassF1: {}, logLoss: 0 });
  });

  it('clips probabilities so a confidently wrong prediction costs a finite log-loss', () => {
    const m = evaluate([['b']], [[1, 0]], ab);
    expect(m.logLoss).toBeCloseTo(-Math.log(1e-7), 6);
  });

  it.each([
    ['row count mismatch', [['a']], [], ab, /truth rows/],
    ['row width mismatch', [['a']], [[0.2, 0.3, 0.5]], ab, /columns/],
    ['unknown truth label', [['z']], [[0.5, 0.5]], ab, /"z"/],
    ['single-label truth with two labels', [['a', 'b']], [[0.5, 0.5]], ab, /exactly one/],
  ] as const)('throws on %s', (_name, truth, probs, spec, message) => {
    expect(() => evaluate(truth as unknown as string[][], probs as unknown as number[][], spec)).toThrow(message);
  });
});

describe('majorityBaseline', () => {
  it('predicts the most frequent training label with smoothed priors', () => {
    const m = majorityBaseline([['a'], ['b'], ['b']], [['a'], ['b']], ab);
    expect(m.accuracy).toBe(0.5);
    expect(m.perClassF1).toEqual({ a: 0, b: 2 / 3 });
    expect(m.macroF1).toBeCloseTo(1 / 3, 12);
    // priors (1+1)/(3+2) = 0.4 and (2+1)/(3+2) = 0.6
    expect(m.logLoss).toBeCloseTo(-mean([Math.log(0.4), Math.log(0.6)]), 12);
  });

  it('breaks ties toward the label set seen first', () => {
    expect(majorityBaseline([['b'], ['a']], [['b']], ab).accuracy).toBe(1);
  });

  it('multi-label: predicts the most frequent exact label set', () => {
    const m = majorityBaseline([['x'], ['x'], ['y', 'x'], []], [['x'], ['x', 'y'], []], xy);
    expect(m.accuracy).toBeCloseTo(1 / 3, 12); // always {x}
    // priors x: (3+1)/(4+2), y: (1+1)/(4+2)
    const px = 4 / 6;
    const py = 2 / 6;
    const bce = [px, 1 - py, px, py, 1 - px, 1 - py].map((p) => -Math.log(p));
    expect(m.logLoss).toBeCloseTo(mean(bce), 12);
  });

  it.each([
    ['single-label → first label', ab, [['a']], 1],
    ['multi-label → no label', xy, [[]], 1],
  ] as const)('with no training rows predicts %s', (_name, spec, heldOut, accuracy) => {
    expect(majorityBaseline([], heldOut as unknown as string[][], spec).accuracy).toBe(accuracy);
  });

  it('has the same shape as evaluate and no NaN for an empty held-out set', () => {
    expect(majorityBaseline([['a']], [], ab)).toEqual({ n: 0, accuracy: 0, macroF1: 0, perClassF1: {}, logLoss: 0 });
  });
});
