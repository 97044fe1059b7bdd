import { describe, expect, it } from 'vitest';
import { scorePrediction } from '../../model/uncertainty.js';

const single = { labels: ['a', 'b', 'c'], multiLabel: false };
const multi = { labels: ['a', 'b', 'c'], multiLabel: true };
const h = (p: number) => (p > 0 ? -p * Math.log(p) : 0);
const binaryEntropy = (p: number) => h(p) + h(1 - p);

describe('scorePrediction', () => {
  it.each([
    ['confident', [0.7, 0.2, 0.1], ['a'], 0.7, 0.3, 0.5, h(0.7) + h(0.2) + h(0.1)],
    ['uniform', [1 / 3, 1 / 3, 1 / 3], ['a'], 1 / 3, 2 / 3, 0, Math.log(3)],
    ['one-hot', [0, 0, 1], ['c'], 1, 0, 1, 0],
    ['tie for first', [0.4, 0.4, 0.2], ['a'], 0.4, 0.6, 0, 2 * h(0.4) + h(0.2)],
  ])('single-label, %s', (_name, probs, labels, score, leastConfidence, margin, entropy) => {
    const s = scorePrediction(probs, single);
    expect(s.labels).toEqual(labels);
    expect(s.score).toBeCloseTo(score, 12);
    expect(s.leastConfidence).toBeCloseTo(leastConfidence, 12);
    expect(s.margin).toBeCloseTo(margin, 12);
    expect(s.entropy).toBeCloseTo(entropy, 12);
  });

  it.each([
    // confidences 0.9, 0.8, 0.6 → min 0.6; |2p−1| = 0.8, 0.6, 0.2
    ['mixed', [0.9, 0.2, 0.6], ['a', 'c'], 0.6, 0.4, 0.2],
    ['none reaches 0.5', [0.1, 0.3, 0.05], [], 0.7, 0.3, 0.4],
    ['all certain', [1, 0, 1], ['a', 'c'], 1, 0, 1],
    ['exactly 0.5 counts as predicted', [0.5, 0.1, 0.1], ['a'], 0.5, 0.5, 0],
  ])('multi-label, %s', (_name, probs, labels, score, leastConfidence, margin) => {
    const s = scorePrediction(probs, multi);
    expect(s.labels).toEqual(labels);
    expect(s.score).toBeCloseTo(score, 12);
    expect(s.leastConfidence).toBeCloseTo(leastConfidence, 12);
    expect(s.margin).toBeCloseTo(margin, 12);
    expect(s.entropy).toBeCloseTo(probs.reduce((sum, p) => sum + binaryEntropy(p), 0), 12);
  });

  it('agrees between modes for one binary decision: margin = p_max − p_second', () => {
    const asSingle = scorePrediction([0.8, 0.2], { labels: ['no', 'yes'], multiLabel: false });
    const asMulti = scorePrediction([0.2], { labels: ['yes'], multiLabel: true });
    expect(asMulti.margin).toBeCloseTo(asSingle.margin, 12);
    expect(asMulti.leastConfidence).toBeCloseTo(asSingle.leastConfidence, 12);
  });

  it('clamps float32 overshoot instead of producing negative entropy', () => {
    const s = scorePrediction([1.0000001, 0, 0], single);
    expect(s.score).toBe(1);
    expect(s.entropy).toBe(0);
  });

  it.each([
    ['too few probabilities', [0.5, 0.5]],
    ['NaN', [NaN, 0.5, 0.5]],
  ])('throws on %s', (_name, probs) => {
    expect(() => scorePrediction(probs, single)).toThrow(/scorePrediction/);
  });
});
