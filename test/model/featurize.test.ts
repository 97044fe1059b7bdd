import { describe, expect, it } from 'vitest';
import {
  defaultFeaturizerConfig,
  densifyRows,
  featurize,
  featurizeInto,
  featurizeSparse,
  validateFeaturizerConfig,
  type FeaturizerConfig,
} from '../../model/featurize.js';

const config: FeaturizerConfig = { kind: 'hashed-ngrams', version: 1, dim: 256, ngram: 2, maxChars: 2_000 };

function norm(row: Float32Array): number {
  return Math.sqrt(row.reduce((sum, v) => sum + v * v, 0));
}

function row(text: string, cfg: FeaturizerConfig = config): Float32Array {
  return featurize([text], cfg);
}

describe('featurize', () => {
  it('returns rows × dim floats and is deterministic', () => {
    const texts = ['Buy cheap meds now!!!', 'Meeting moved to 3pm, see agenda', ''];
    const a = featurize(texts, config);
    const b = featurize([...texts], JSON.parse(JSON.stringify(config)));
    expect(a).toHaveLength(texts.length * config.dim);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it('gives the same row for a text whatever else is in the batch', () => {
    const alone = row('the quick brown fox');
    const batched = featurize(['something else entirely', 'the quick brown fox'], config).subarray(config.dim);
    expect(Array.from(batched)).toEqual(Array.from(alone));
  });

  it('featurizeInto overwrites a reused buffer completely', () => {
    const buffer = new Float32Array(3 * config.dim).fill(7);
    const view = featurizeInto(['one two three', 'four'], config, buffer);
    expect(Array.from(view)).toEqual(Array.from(featurize(['one two three', 'four'], config)));
    expect(() => featurizeInto(['a', 'b', 'c', 'd'], config, buffer)).toThrow(/buffer holds/);
  });

  it('sparse rows expand to exactly the dense rows, in any order', () => {
    // 300 texts: more than one internal chunk of 256; includes empty rows.
    const texts = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? '' : `text ${i} word${i % 13} shared words here`));
    const sparse = featurizeSparse(texts, config);
    const dense = featurize(texts, config);
    expect(sparse.rowStart).toHaveLength(301);
    expect(sparse.columns.length).toBe(dense.filter((v) => v !== 0).length);
    const rows = [299, 0, 150, 7];
    const out = densifyRows(sparse, rows, new Float32Array(rows.length * config.dim).fill(3));
    rows.forEach((row, r) => {
      expect(Array.from(out.subarray(r * config.dim, (r + 1) * config.dim))).toEqual(
        Array.from(dense.subarray(row * config.dim, (row + 1) * config.dim)),
      );
    });
  });

  it.each([
    ['empty string', ''],
    ['whitespace only', ' \n\t  '],
    ['punctuation only', '.,;:()[]{}<>/\\'],
    ['emoji only (astral plane)', '😀🎉😀'],
  ])('maps %s to an all-zero row', (_name, text) => {
    expect(row(text).every((v) => v === 0)).toBe(true);
  });

  it.each([
    ['HTML', '<html><body><p style="color:red">WIN <b>$1000</b> now!</p></body></html>'],
    ['Chinese', '免费获得大奖，立即点击链接领取'],
    ['Japanese', 'お問い合わせありがとうございます。カタカナも'],
    ['Russian', 'Срочно! Выиграйте приз прямо сейчас'],
    ['Arabic', 'مرحبا بكم في عرضنا الخاص'],
    ['mixed scripts and digits', 'Order #12345 — Größe XL, 価格 ¥3000'],
    ['control characters and lone surrogates', 'abc\u0000def\ud800ghi\u202e'],
  ])('gives a finite unit-norm row for %s', (_name, text) => {
    const features = row(text);
    expect(features.every(Number.isFinite)).toBe(true);
    expect(norm(features)).toBeCloseTo(1, 5);
  });

  it('caps the cost of very long texts at maxChars', () => {
    const long = 'lorem ipsum dolor sit amet '.repeat(40_000); // ~1 MB
    expect(Array.from(row(long))).toEqual(Array.from(row(long.slice(0, config.maxChars))));
  });

  it('is case-insensitive', () => {
    expect(Array.from(row('Hello WORLD Ünïcode'))).toEqual(Array.from(row('hello world ünïcode')));
  });

  it.each([
    [1, true],
    [2, false],
  ])('with ngram %i, word order %s irrelevant', (ngram, orderFree) => {
    const cfg = { ...config, ngram };
    const same = Array.from(row('alpha beta gamma', cfg)).join() === Array.from(row('gamma beta alpha', cfg)).join();
    expect(same).toBe(orderFree);
  });

  it('maps non-string inputs (missing task fields) to the row of their string form or zero', () => {
    const texts = [undefined, null, 42] as unknown as string[];
    const features = featurize(texts, config);
    expect(features.subarray(0, 2 * config.dim).every((v) => v === 0)).toBe(true);
    expect(Array.from(features.subarray(2 * config.dim))).toEqual(Array.from(row('42')));
  });

  it.each([
    ['dim not a power of two', { dim: 1000 }],
    ['dim too small', { dim: 8 }],
    ['dim too large', { dim: 2 ** 21 }],
    ['ngram 0', { ngram: 0 }],
    ['ngram 4', { ngram: 4 }],
    ['maxChars 0', { maxChars: 0 }],
    ['unknown kind', { kind: 'tfidf' }],
    ['unknown version', { version: 2 }],
  ])('rejects a config with %s', (_name, change) => {
    const bad = { ...config, ...change } as FeaturizerConfig;
    expect(() => validateFeaturizerConfig(bad)).toThrow(/featurizer/);
    expect(() => featurize(['x'], bad)).toThrow(/featurizer/);
  });

  it('has a valid, JSON-serialisable default', () => {
    const cfg = defaultFeaturizerConfig();
    expect(() => validateFeaturizerConfig(JSON.parse(JSON.stringify(cfg)))).not.toThrow();
  });
});
