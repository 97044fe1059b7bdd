import { describe, expect, it } from 'vitest';
import { dueSooner, nextRoundAt, roundTrigger, type PendingWork } from '../../policies/debounce.js';
import { decide, type GateInput, type PromotionPolicy } from '../../policies/promotion.js';
import { auditScore, interleave, maxEntropyOf, strategyScore } from '../../policies/sampling.js';

const settings = { minAnnotations: 10, quietPeriodMs: 5_000, maxWaitMs: 120_000 };
const idle: PendingWork = { pendingAnnotations: 0, firstPendingAt: null, lastEventAt: null, trainingRequested: false, followUpDue: false };

describe('debounce policy', () => {
  it.each([
    ['nothing pending', idle, null, null],
    ['a request: due at once', { ...idle, trainingRequested: true, lastEventAt: 1_000, firstPendingAt: 1_000 }, 1_000, 'requested'],
    ['enough labels: quiet period after the last event', { ...idle, pendingAnnotations: 10, firstPendingAt: 0, lastEventAt: 7_000 }, 12_000, 'annotations'],
    ['few labels: max-wait after the first event', { ...idle, pendingAnnotations: 3, firstPendingAt: 2_000, lastEventAt: 9_000 }, 122_000, 'max-wait'],
    ['a follow-up: quiet period whatever the count', { ...idle, pendingAnnotations: 1, followUpDue: true, firstPendingAt: 0, lastEventAt: 3_000 }, 8_000, 'follow-up'],
    ['a stream that never pauses: capped at max-wait', { ...idle, pendingAnnotations: 500, firstPendingAt: 0, lastEventAt: 119_000 }, 120_000, 'annotations'],
  ])('%s', (_name, pending, due, trigger) => {
    expect(nextRoundAt(pending as PendingWork, settings)).toBe(due);
    if (trigger) expect(roundTrigger(pending as PendingWork, settings)).toBe(trigger);
  });

  it.each([
    [null, null, false],
    [null, 5, true],
    [10, 5, true],
    [10, 10, false],
    [10, 12, false],
    [10, null, false],
  ])('sleeping until %s, next due %s: wake early = %s', (sleeping, next, wake) => {
    expect(dueSooner(sleeping, next)).toBe(wake);
  });
});

const policy: PromotionPolicy = { metric: 'accuracy', confidence: 0.95, resamples: 500, seed: 7 };

/**
 * Paired evidence with `both` items both right, `candidateOnly` / `incumbentOnly` items only one
 * right and `neither` both wrong, over labels `classes` (the first label is the truth of most).
 */
function paired(both: number, candidateOnly: number, incumbentOnly: number, neither: number, classes = ['spam', 'ham']) {
  const truth: string[] = [];
  const candidate: string[] = [];
  const incumbent: string[] = [];
  const wrong = (t: string) => classes.find((c) => c !== t)!;
  const add = (t: string, c: boolean, i: boolean) => {
    truth.push(t);
    candidate.push(c ? t : wrong(t));
    incumbent.push(i ? t : wrong(t));
  };
  let k = 0;
  const next = () => classes[k++ % classes.length];
  for (let i = 0; i < both; i++) add(next(), true, true);
  for (let i = 0; i < candidateOnly; i++) add(next(), true, false);
  for (let i = 0; i < incumbentOnly; i++) add(next(), false, true);
  for (let i = 0; i < neither; i++) add(next(), false, false);
  return { truth, candidate, incumbent };
}

const gate = (over: Partial<GateInput>): GateInput => ({
  candidateVersion: 'r2',
  championVersion: 'r1',
  labelsChanged: false,
  superset: true,
  sameSettings: true,
  evidence: paired(40, 5, 5, 10),
  ...over,
});

describe('promotion policy', () => {
  it.each([
    // More labels, same settings: replaces the champion unless significantly worse.
    ['more labels, a tie', gate({}), 'promoted', 'not-significantly-worse'],
    ['more labels, slightly worse on a tiny set (2 of 6 against it)', gate({ evidence: paired(3, 0, 2, 1) }), 'promoted', 'not-significantly-worse'],
    ['more labels, significantly worse', gate({ evidence: paired(60, 2, 20, 18) }), 'rejected', 'not-significantly-worse'],
    ['more labels, no paired items yet', gate({ evidence: paired(0, 0, 0, 0) }), 'promoted', 'not-significantly-worse'],
    ['first model, not worse than the majority baseline', gate({ championVersion: null }), 'promoted', 'not-significantly-worse'],
    // Anything else needs evidence it is better.
    ['other settings, better but not significantly', gate({ sameSettings: false, evidence: paired(40, 6, 3, 10) }), 'rejected', 'significantly-better'],
    ['other settings, significantly better', gate({ sameSettings: false, evidence: paired(40, 20, 2, 10) }), 'promoted', 'significantly-better'],
    ['labels removed, a tie', gate({ superset: false }), 'rejected', 'significantly-better'],
    ['labels removed, significantly better', gate({ superset: false, evidence: paired(40, 20, 2, 10) }), 'promoted', 'significantly-better'],
    ['other settings, no paired items', gate({ sameSettings: false, evidence: paired(0, 0, 0, 0) }), 'rejected', 'significantly-better'],
    ["the project's labels changed", gate({ labelsChanged: true, evidence: paired(0, 0, 0, 0) }), 'promoted', 'labels-changed'],
  ] as const)('%s → %s', (_name, input, decision, rule) => {
    const e = decide(input, policy);
    expect(e.decision).toBe(decision);
    expect(e.rule).toBe(rule);
    expect(e.reason.startsWith(decision)).toBe(true);
  });

  it('records the evidence: n, effect with its interval, discordant counts and the p-value', () => {
    const input = gate({ evidence: paired(30, 8, 3, 9) });
    const e = decide(input, policy);
    expect(e).toMatchObject({ n: 50, candidateOnly: 8, incumbentOnly: 3, metric: 'accuracy', confidence: 0.95, test: 'mcnemar-midp', incumbent: 'r1' });
    expect(e.delta).toBeCloseTo((8 - 3) / 50, 10);
    expect(e.low).toBeLessThanOrEqual(e.delta);
    expect(e.high).toBeGreaterThanOrEqual(e.delta);
    expect(e.pValue).toBeGreaterThan(0);
    expect(e.pValue).toBeLessThanOrEqual(1);
    // Seeded: the same input gives the same evidence.
    expect(decide(input, policy)).toEqual(e);
    expect(e.reason).toMatch(/accuracy \+0\.1000 \[[-+]\d\.\d{4}, [-+]\d\.\d{4}\] vs r1 on 50 audit items/);
  });

  it('a stricter confidence needs stronger evidence', () => {
    // 12 against 3 discordant: mid-p ≈ 0.011, significant at 95 % but not at 99.9 %.
    const input = gate({ sameSettings: false, evidence: paired(40, 12, 3, 5) });
    expect(decide(input, { ...policy, confidence: 0.95 }).decision).toBe('promoted');
    expect(decide(input, { ...policy, confidence: 0.999 }).decision).toBe('rejected');
  });

  it('the case that lost labels before: a skewed, hard audit set where the candidate with more labels is a little behind on macro-F1', () => {
    // 48 items, 60 % one class; the champion says the majority class more often.
    const truth = [...Array(29).fill('a'), ...Array(12).fill('b'), ...Array(7).fill('c')];
    const incumbent = truth.map((t, i) => (i < 29 ? 'a' : i < 35 ? t : 'a'));
    const candidate = truth.map((t, i) => (i < 26 ? 'a' : i < 29 ? 'b' : i < 36 ? t : i < 41 ? 'a' : i < 44 ? t : 'a'));
    const e = decide(gate({ evidence: { truth, candidate, incumbent } }), { ...policy, metric: 'macroF1' });
    expect(e.decision).toBe('promoted');
    expect(e.pValue).toBeGreaterThan(0.05);
  });
});

describe('sampling policy', () => {
  const u = (id: number, score: number, margin: number, entropy: number) => ({ id, score, leastConfidence: 1 - score, margin, entropy });
  // Task 55 is the least certain by every measure, 90 the most certain.
  const items = [u(90, 0.9, 0.8, 0.3), u(55, 0.55, 0.1, 0.69), u(70, 0.7, 0.4, 0.6)];
  it.each(['least_confidence', 'margin', 'entropy', 'diverse_margin'] as const)('%s: ascending scores put the least certain first, in [0, 1]', (strategy) => {
    const scores = new Map(items.map((i) => [i.id, strategyScore(i, strategy, Math.log(2), 0.5)]));
    expect([...items].sort((a, b) => scores.get(a.id)! - scores.get(b.id)!).map((i) => i.id)).toEqual([55, 70, 90]);
    for (const s of scores.values()) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
  });

  it('random: the task\'s own draw; non-finite or out-of-range values are clamped', () => {
    expect(strategyScore(items[0], 'random', Math.log(2), 0.25)).toBe(0.25);
    expect(strategyScore({ ...items[0], margin: Number.NaN }, 'margin', 1, 0)).toBe(1);
    expect(strategyScore({ ...items[0], margin: 1.5 }, 'margin', 1, 0)).toBe(1);
    expect(strategyScore(items[0], 'entropy', 0, 0)).toBe(1);
    expect(maxEntropyOf(4, false)).toBeCloseTo(Math.log(4));
    expect(maxEntropyOf(3, true)).toBeCloseTo(3 * Math.LN2);
  });

  it('an audit task slots in at its quantile of the strategy scores', () => {
    const sorted = Float64Array.from([0.1, 0.2, 0.3, 0.4]);
    expect(auditScore(sorted, 0)).toBeCloseTo(0.05, 12);
    expect(auditScore(sorted, 0.5)).toBeCloseTo(0.25, 12);
    expect(auditScore(sorted, 0.999)).toBeCloseTo(0.35, 12);
    expect(auditScore(new Float64Array(), 0.42)).toBe(0.42);
  });

  it.each([0, 0.1, 0.25, 0.5, 1])('interleave at share %s: every prefix holds about that share of audit items', (share) => {
    const strategy = Array.from({ length: 200 }, (_, i) => `s${i}`);
    const audit = Array.from({ length: 200 }, (_, i) => `a${i}`);
    const out = interleave(strategy, audit, share, 100);
    expect(out).toHaveLength(100);
    for (let n = 1; n <= 100; n++) {
      const a = out.slice(0, n).filter((x) => x.startsWith('a')).length;
      expect(Math.abs(a - n * share)).toBeLessThanOrEqual(1);
    }
    // Each queue keeps its own order.
    expect(out.filter((x) => x.startsWith('s'))).toEqual(strategy.slice(0, out.filter((x) => x.startsWith('s')).length));
  });

  it('interleave keeps the project\'s audit share: one task at a time gets its share, a project behind catches up', () => {
    const one = (served: { labelled: number; audit: number }) => interleave(['s'], ['a'], 0.25, 1, served)[0];
    // Asking for one task after each label: 1 in 4 is audit.
    let served = { labelled: 0, audit: 0 };
    const picks: string[] = [];
    for (let i = 0; i < 40; i++) {
      const pick = one(served);
      picks.push(pick);
      served = { labelled: served.labelled + 1, audit: served.audit + (pick === 'a' ? 1 : 0) };
    }
    expect(picks.filter((p) => p === 'a')).toHaveLength(10);
    // 100 labelled, only 10 of them audit: the next 20 are all audit; 100 with 40: none.
    expect(interleave(['s1', 's2'], Array.from({ length: 30 }, (_, i) => `a${i}`), 0.25, 5, { labelled: 100, audit: 10 })).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(interleave(['s1', 's2', 's3'], ['a1'], 0.25, 3, { labelled: 100, audit: 40 })).toEqual(['s1', 's2', 's3']);
  });

  it('interleave falls back to the other queue when one runs out, and stops at the limit', () => {
    expect(interleave(['s1', 's2'], ['a1', 'a2', 'a3', 'a4'], 0.25, 10)).toEqual(['s1', 's2', 'a1', 'a2', 'a3', 'a4']);
    expect(interleave(['s1', 's2', 's3'], [], 0.5, 2)).toEqual(['s1', 's2']);
  });
});
