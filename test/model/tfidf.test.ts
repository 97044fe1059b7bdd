import { describe, expect, it } from 'vitest';
import { countNgrams, defaultTfidfConfig, fitIdf, tfidf, validateTfidfConfig, type TfidfConfig } from '../../model/tfidf.js';

const config: TfidfConfig = { ...defaultTfidfConfig(), dim: 2 ** 16 };

describe('hashed TF-IDF features', () => {
  it('counts unigrams and bigrams (case-insensitive) per text', () => {
    const m = countNgrams(['the cat the CAT', ''], config);
    // unigrams: the ×2, cat ×2; bigrams: "the cat" ×2, "cat the" ×1 → 4 buckets (barring collisions)
    expect(m.rowStart[1]).toBe(4);
    expect(Array.from(m.vals.subarray(0, 4)).sort()).toEqual([1, 2, 2, 2]);
    expect(m.rowStart[2]).toBe(4);
    const unigrams = countNgrams(['the cat the CAT'], { ...config, ngram: 1 });
    expect(unigrams.rowStart[1]).toBe(2);
  });

  it('fits the smoothed IDF ln((1 + N) / (1 + df)) + 1 and L2-normalises sublinear TF × IDF', () => {
    const counts = countNgrams(['apple banana', 'apple', 'cherry'], { ...config, ngram: 1 });
    const idf = fitIdf(counts);
    expect(idf.documents).toBe(3);
    const apple = counts.cols[0];
    const banana = counts.cols[1];
    expect(idf.values[apple]).toBeCloseTo(Math.log(4 / 3) + 1, 6);
    expect(idf.values[banana]).toBeCloseTo(Math.log(4 / 2) + 1, 6);
    const x = tfidf(counts, idf.values);
    const a = idf.values[apple];
    const b = idf.values[banana];
    expect(x.vals[0]).toBeCloseTo(a / Math.hypot(a, b), 6);
    expect(x.vals[1]).toBeCloseTo(b / Math.hypot(a, b), 6);
    expect(x.vals[2]).toBeCloseTo(1, 6);
  });

  it('is deterministic and tolerates non-string inputs', () => {
    const a = countNgrams(['Hello, world! $100', null, 42], config);
    const b = countNgrams(['Hello, world! $100', null, 42], config);
    expect(a).toEqual(b);
    expect(a.rowStart[2] - a.rowStart[1]).toBe(0);
    expect(a.rowStart[3] - a.rowStart[2]).toBe(1);
  });

  it.each([
    [{ dim: 1000 }, /power of two/],
    [{ ngram: 4 }, /ngram/],
    [{ maxChars: 0 }, /maxChars/],
    [{ kind: 'hashed-ngrams' }, /unsupported featurizer/],
  ])('rejects %j', (patch, message) => {
    expect(() => validateTfidfConfig({ ...config, ...patch } as TfidfConfig)).toThrow(message);
  });
});
