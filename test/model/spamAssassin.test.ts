import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../model/backend.js';
import { defaultSpec, defaultTrainOptions, trainClassifier } from '../../model/classifier.js';
import { evaluate, majorityBaseline } from '../../model/metrics.js';
import { mulberry32, shuffleInPlace } from '../../model/random.js';
import { loadSpamAssassin, type SpamAssassinEmail } from '../../model/spamAssassin.js';

let emails: SpamAssassinEmail[];
beforeAll(async () => {
  await initBackend({ forced: process.env.LABEL_LOOP_TF_BACKEND as never });
  emails = loadSpamAssassin();
});

describe('loadSpamAssassin', () => {
  it('returns the whole corpus, labelled, in package order', () => {
    expect(emails).toHaveLength(6046);
    expect(emails.filter((e) => e.label === 'spam')).toHaveLength(1896);
    expect(emails.map((e) => e.id)).toEqual(emails.map((_, i) => i));
    // The package groups messages: easy-ham-1, easy-ham-2, hard-ham-1 (4,150), then spam-1, spam-2.
    expect(emails[4149].label).toBe('ham');
    expect(emails[4150].label).toBe('spam');
    expect(emails.every((e) => typeof e.text === 'string' && e.text.length > 0)).toBe(true);
  });
});

describe('SpamAssassin spam filter (default spec and options)', () => {
  it('reaches ≥ 0.95 accuracy on a fixed 20% held-out split when trained on the other 80%', async () => {
    const shuffled = [...emails];
    shuffleInPlace(shuffled, mulberry32(2024));
    const cut = Math.floor(shuffled.length * 0.8);
    const train = shuffled.slice(0, cut).map((e) => ({ text: e.text, labels: [e.label] }));
    const heldOut = shuffled.slice(cut);
    expect(train.length).toBeGreaterThanOrEqual(2000);

    const spec = defaultSpec(['ham', 'spam'], false);
    const clf = await trainClassifier(spec, train, defaultTrainOptions(7));
    const truth = heldOut.map((e) => [e.label]);
    const metrics = evaluate(truth, clf.predictProba(heldOut.map((e) => e.text)), spec);
    const baseline = majorityBaseline(train.map((e) => e.labels), truth, spec);
    clf.dispose();

    expect(metrics.n).toBe(1210);
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(metrics.macroF1).toBeGreaterThan(baseline.macroF1);
    expect(metrics.logLoss).toBeLessThan(baseline.logLoss);
  });
});
