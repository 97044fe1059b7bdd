/**
 * Sparse hashed TF-IDF features ("hashed-tfidf" v1), computed in plain TypeScript.
 *
 * Scheme: take the first `maxChars` UTF-16 code units, lower-case and tokenise them exactly as
 * featurize.ts does (runs of letters/digits/marks; each Han/Hiragana/Katakana character and each of
 * `$ € £ ¥ !` on its own), hash every word n-gram up to order `ngram` (MurmurHash3-finalised FNV-1a)
 * into one of `dim` buckets (no sign: counts stay non-negative, which the naive-Bayes member needs,
 * and at 2^18+ buckets collisions are rare), then
 *     value(bucket) = (1 + ln count) · idf(bucket),   idf(b) = ln((1 + N) / (1 + df(b))) + 1
 * (sublinear TF × smoothed IDF, as scikit-learn's TfidfVectorizer(sublinear_tf=True)), and scale
 * the row to unit L2 norm. N and df are counted over the texts the IDF was fitted on (`fitIdf`):
 * the whole task pool, labelled or not, since unlabelled text is free. Buckets the fit never saw get
 * the largest IDF, ln(1 + N) + 1. A text without tokens gives an empty row.
 *
 * Rows are CSR (`SparseMatrix`): ~8 bytes per non-zero, so memory follows the text, not the width.
 * Column order inside a row is the order of first occurrence in the text (deterministic).
 *
 * Cost (dev machine, Node 20): ~0.35 s per 10,000 SpamAssassin e-mails (median 3.5k characters,
 * ~700 non-zeros per row at 1-2-grams), ~0.06 s per 10,000 Brown paragraphs.
 */
import {
  FNV_OFFSET,
  FNV_PRIME,
  fmix32,
  NGRAM_SALT_2,
  NGRAM_SALT_3,
  SEPARATOR,
  tables,
  WORD,
} from './featurize.js';

export interface TfidfConfig {
  kind: 'hashed-tfidf';
  version: 1;
  /** Number of hash buckets (columns): a power of two in [2^4, 2^24]. */
  dim: number;
  /** Highest word n-gram order: 1 = unigrams, 2 = + bigrams, 3 = + trigrams. */
  ngram: number;
  /** Texts are cut to this many UTF-16 code units before tokenising (bounds the cost per text). */
  maxChars: number;
}

export const TFIDF_MIN_DIM = 2 ** 4;
export const TFIDF_MAX_DIM = 2 ** 24;

export function defaultTfidfConfig(): TfidfConfig {
  return { kind: 'hashed-tfidf', version: 1, dim: 2 ** 20, ngram: 2, maxChars: 20_000 };
}

export function validateTfidfConfig(config: TfidfConfig): void {
  if (config === null || typeof config !== 'object') throw new Error('featurizer config must be an object');
  if (config.kind !== 'hashed-tfidf' || config.version !== 1) {
    throw new Error(`unsupported featurizer ${String(config.kind)} v${String(config.version)}; expected hashed-tfidf v1`);
  }
  const { dim, ngram, maxChars } = config;
  if (!Number.isInteger(dim) || dim < TFIDF_MIN_DIM || dim > TFIDF_MAX_DIM || (dim & (dim - 1)) !== 0) {
    throw new Error(`featurizer dim must be a power of two in [${TFIDF_MIN_DIM}, ${TFIDF_MAX_DIM}], got ${dim}`);
  }
  if (!Number.isInteger(ngram) || ngram < 1 || ngram > 3) throw new Error(`featurizer ngram must be 1, 2 or 3, got ${ngram}`);
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new Error(`featurizer maxChars must be a positive integer, got ${maxChars}`);
}

/** Compressed sparse rows: row r has columns cols[rowStart[r] .. rowStart[r+1]) with values vals[...]. */
export interface SparseMatrix {
  /** Number of columns (the hash space). */
  dim: number;
  /** [rows + 1] */
  rowStart: Int32Array;
  /** [non-zeros] column (bucket) indices. */
  cols: Int32Array;
  /** [non-zeros] values (raw counts from `countNgrams`, TF-IDF from `tfidf`). */
  vals: Float32Array;
}

export function rowCount(m: SparseMatrix): number {
  return m.rowStart.length - 1;
}

/** Per-bucket inverse document frequencies, dense [dim] float32, plus what they were fitted on. */
export interface Idf {
  /** Documents the IDF was fitted on (N). */
  documents: number;
  /** [dim] ln((1 + N) / (1 + df)) + 1. */
  values: Float32Array;
}

/** Reused across rows so counting allocates nothing per text. */
class Scratch {
  /** Per-bucket counts of the current row; Uint16 halves the cache footprint at 2^20 buckets. A count saturates at 65,535 (only reachable with maxChars > 65,535). */
  readonly counts: Uint16Array;
  readonly touched: Int32Array;
  nTouched = 0;
  previous1 = 0;
  previous2 = 0;
  seen = 0;
  constructor(dim: number) {
    this.counts = new Uint16Array(dim);
    this.touched = new Int32Array(dim);
  }
}

const scratchByDim = new Map<number, Scratch>();
function scratchFor(dim: number): Scratch {
  let scratch = scratchByDim.get(dim);
  if (!scratch) {
    scratch = new Scratch(dim);
    scratchByDim.set(dim, scratch);
  }
  return scratch;
}

/** Raw n-gram bucket counts per text, CSR. Pure function of (texts, config). */
export function countNgrams(texts: readonly unknown[], config: TfidfConfig): SparseMatrix {
  validateTfidfConfig(config);
  const scratch = scratchFor(config.dim);
  const rowStart = new Int32Array(texts.length + 1);
  let cols = new Int32Array(Math.max(1024, texts.length * 64));
  let vals = new Float32Array(cols.length);
  let nnz = 0;
  for (let r = 0; r < texts.length; r++) {
    countRow(texts[r], config, scratch);
    const { touched, counts, nTouched } = scratch;
    if (nnz + nTouched > cols.length) {
      const size = Math.max(2 * cols.length, nnz + nTouched);
      const c = new Int32Array(size);
      c.set(cols.subarray(0, nnz));
      cols = c;
      const v = new Float32Array(size);
      v.set(vals.subarray(0, nnz));
      vals = v;
    }
    for (let k = 0; k < nTouched; k++) {
      const bucket = touched[k];
      cols[nnz] = bucket;
      vals[nnz] = counts[bucket];
      counts[bucket] = 0;
      nnz++;
    }
    rowStart[r + 1] = nnz;
  }
  return { dim: config.dim, rowStart, cols: cols.slice(0, nnz), vals: vals.slice(0, nnz) };
}

/** Smoothed IDF from the document frequencies of `counts` (rows = documents). */
export function fitIdf(counts: SparseMatrix): Idf {
  const df = new Int32Array(counts.dim);
  for (let k = 0; k < counts.cols.length; k++) df[counts.cols[k]]++;
  const documents = rowCount(counts);
  const values = new Float32Array(counts.dim);
  for (let j = 0; j < values.length; j++) values[j] = Math.log((1 + documents) / (1 + df[j])) + 1;
  return { documents, values };
}

/** Sublinear TF × IDF, rows scaled to unit L2 norm. Returns a new matrix with the same sparsity. */
export function tfidf(counts: SparseMatrix, idf: Float32Array): SparseMatrix {
  const { rowStart, cols } = counts;
  const vals = new Float32Array(counts.vals.length);
  for (let r = 0; r + 1 < rowStart.length; r++) {
    let sumSquares = 0;
    for (let k = rowStart[r]; k < rowStart[r + 1]; k++) {
      const c = counts.vals[k];
      const v = (c < SUBLINEAR.length ? SUBLINEAR[c] : 1 + Math.log(c)) * idf[cols[k]];
      vals[k] = v;
      sumSquares += v * v;
    }
    if (sumSquares > 0) {
      const scale = 1 / Math.sqrt(sumSquares);
      for (let k = rowStart[r]; k < rowStart[r + 1]; k++) vals[k] *= scale;
    }
  }
  return { dim: counts.dim, rowStart, cols, vals };
}

/** 1 + ln(count) for small counts (Math.log per entry is measurable). */
const SUBLINEAR = Float64Array.from({ length: 256 }, (_, count) => (count === 0 ? 0 : 1 + Math.log(count)));

function countRow(text: unknown, config: TfidfConfig, scratch: Scratch): void {
  // Label Studio task fields may be missing or not strings.
  const raw = typeof text === 'string' ? text : text == null ? '' : String(text);
  const end = Math.min(raw.length, config.maxChars);
  const mask = config.dim - 1;
  const ngram = config.ngram;
  const { charClass, lowerCase } = tables();
  scratch.nTouched = 0;
  scratch.seen = 0;
  let hash = FNV_OFFSET;
  let inWord = false;
  for (let i = 0; i < end; i++) {
    const code = raw.charCodeAt(i);
    const kind = charClass[code];
    if (kind === WORD) {
      hash = Math.imul(hash ^ lowerCase[code], FNV_PRIME);
      inWord = true;
      continue;
    }
    if (inWord) {
      addToken(hash, ngram, mask, scratch);
      hash = FNV_OFFSET;
      inWord = false;
    }
    if (kind !== SEPARATOR) addToken(Math.imul(FNV_OFFSET ^ code, FNV_PRIME), ngram, mask, scratch);
  }
  if (inWord) addToken(hash, ngram, mask, scratch);
}

function addToken(hash: number, ngram: number, mask: number, scratch: Scratch): void {
  addBucket(fmix32(hash) & mask, scratch);
  if (ngram >= 2 && scratch.seen >= 1) {
    const bigram = Math.imul(hash ^ NGRAM_SALT_2, FNV_PRIME) ^ scratch.previous1;
    addBucket(fmix32(bigram) & mask, scratch);
    if (ngram >= 3 && scratch.seen >= 2) addBucket(fmix32(Math.imul(bigram ^ NGRAM_SALT_3, FNV_PRIME) ^ scratch.previous2) & mask, scratch);
  }
  scratch.previous2 = scratch.previous1;
  scratch.previous1 = hash;
  scratch.seen++;
}

function addBucket(bucket: number, scratch: Scratch): void {
  const c = scratch.counts[bucket];
  if (c === 0) scratch.touched[scratch.nTouched++] = bucket;
  if (c < 65535) scratch.counts[bucket] = c + 1;
}
