/**
 * Text → fixed-width feature rows, computed in plain JS outside tfjs.
 *
 * Scheme ("hashed-ngrams" v1): take the first `maxChars` UTF-16 code units, lower-case them, split
 * them into tokens (runs of letters/digits/marks; each Han/Hiragana/Katakana character on its own,
 * since those scripts use no spaces; each of `$ € £ ¥ !` on its own), hash every word n-gram up to
 * order `ngram` into `dim` buckets with a pseudo-random ±1 sign, then map each bucket's signed count
 * v → sign(v)·(1 + ln|v|) (sublinear term frequency) and scale the row to unit L2 norm. A text with no
 * tokens (empty, whitespace, emoji only) gives an all-zero row.
 *
 * Why hashing: there is no vocabulary to fit or store, so this JSON config fully describes the
 * features and a text featurises identically in every process. The random sign makes bucket
 * collisions cancel in expectation instead of piling up.
 *
 * Output is dense (rows × dim float32) because the head runs dense matMuls in tfjs-core (sparse
 * gather/scatter kernels measured slower, see classifier.ts). Featurise many texts in chunks with
 * `featurizeInto`, as `Classifier.predictProba` does: 10,000 rows × 2^13 columns would be 328 MB.
 * Cost: ~0.75 s per 10,000 SpamAssassin e-mails (median 3.5k characters) on the dev machine.
 */

export interface FeaturizerConfig {
  /** Identifies the scheme, so a stored model is never fed features it was not trained on. */
  kind: 'hashed-ngrams';
  version: 1;
  /** Output width (columns): a power of two in [2^4, 2^20]. */
  dim: number;
  /** Highest word n-gram order: 1 = unigrams only, 2 = unigrams + bigrams, 3 = … + trigrams. */
  ngram: number;
  /** Texts are cut to this many UTF-16 code units before tokenising, which bounds the cost per text. */
  maxChars: number;
}

export const MIN_DIM = 2 ** 4;
export const MAX_DIM = 2 ** 20;
export const MAX_NGRAM = 3;

export function defaultFeaturizerConfig(): FeaturizerConfig {
  // dim / ngram / maxChars chosen by bench/model.ts measurements; see the table in classifier.ts.
  return { kind: 'hashed-ngrams', version: 1, dim: 2 ** 13, ngram: 1, maxChars: 20_000 };
}

/** Throws a descriptive Error unless `config` is a usable FeaturizerConfig (e.g. one read back from JSON). */
export function validateFeaturizerConfig(config: FeaturizerConfig): void {
  if (config === null || typeof config !== 'object') throw new Error('featurizer config must be an object');
  if (config.kind !== 'hashed-ngrams' || config.version !== 1) {
    throw new Error(`unsupported featurizer ${String(config.kind)} v${String(config.version)}; expected hashed-ngrams v1`);
  }
  const { dim, ngram, maxChars } = config;
  if (!Number.isInteger(dim) || dim < MIN_DIM || dim > MAX_DIM || (dim & (dim - 1)) !== 0) {
    throw new Error(`featurizer dim must be a power of two in [${MIN_DIM}, ${MAX_DIM}], got ${dim}`);
  }
  if (!Number.isInteger(ngram) || ngram < 1 || ngram > MAX_NGRAM) {
    throw new Error(`featurizer ngram must be an integer in [1, ${MAX_NGRAM}], got ${ngram}`);
  }
  if (!Number.isInteger(maxChars) || maxChars < 1) {
    throw new Error(`featurizer maxChars must be a positive integer, got ${maxChars}`);
  }
}

/**
 * Features for `texts`, row-major: shape [texts.length, config.dim], float32, rows L2-normalised.
 * Pure function of (text, config): the same input gives the same bits in any process.
 */
export function featurize(texts: readonly string[], config: FeaturizerConfig): Float32Array {
  return featurizeInto(texts, config, new Float32Array(texts.length * config.dim));
}

/**
 * Like `featurize`, but writes into the first texts.length × dim entries of `out` (overwriting them) and
 * returns that view. Reusing one buffer across chunks avoids page-faulting fresh memory for every
 * chunk (~10% of featurising time at dim 2^14).
 */
export function featurizeInto(texts: readonly string[], config: FeaturizerConfig, out: Float32Array): Float32Array {
  validateFeaturizerConfig(config);
  const { dim } = config;
  if (out.length < texts.length * dim) {
    throw new Error(`featurizeInto: buffer holds ${out.length} floats, need ${texts.length} × ${dim}`);
  }
  const rows = out.subarray(0, texts.length * dim);
  rows.fill(0);
  const scratch = new RowScratch(dim);
  for (let row = 0; row < texts.length; row++) {
    featurizeRow(texts[row], config, rows.subarray(row * dim, (row + 1) * dim), scratch);
  }
  return rows;
}

/**
 * Rows in compressed sparse row form: row r's non-zero columns are columns[rowStart[r] .. rowStart[r+1])
 * with matching values. ~8 bytes per non-zero instead of 4·dim bytes per row (SpamAssassin at 2^13:
 * ~5 kB instead of 32 kB per e-mail), so a training set can be held in memory whatever its size.
 */
export interface SparseRows {
  dim: number;
  /** [rows + 1] */
  rowStart: Int32Array;
  /** [non-zeros] */
  columns: Int32Array;
  /** [non-zeros] */
  values: Float32Array;
}

/** `featurize` in sparse form; the dense rows it expands to are bit-identical to `featurize`'s. */
export function featurizeSparse(texts: readonly string[], config: FeaturizerConfig): SparseRows {
  validateFeaturizerConfig(config);
  const { dim } = config;
  const chunkRows = 256;
  const buffer = new Float32Array(Math.min(texts.length, chunkRows) * dim);
  const rowStart = new Int32Array(texts.length + 1);
  let columns = new Int32Array(1024);
  let values = new Float32Array(1024);
  let count = 0;
  for (let start = 0; start < texts.length; start += chunkRows) {
    const chunk = texts.slice(start, start + chunkRows);
    const dense = featurizeInto(chunk, config, buffer);
    for (let r = 0; r < chunk.length; r++) {
      for (let c = 0; c < dim; c++) {
        const value = dense[r * dim + c];
        if (value === 0) continue;
        if (count === columns.length) {
          columns = grow(columns, new Int32Array(2 * count));
          values = grow(values, new Float32Array(2 * count));
        }
        columns[count] = c;
        values[count] = value;
        count++;
      }
      rowStart[start + r + 1] = count;
    }
  }
  return { dim, rowStart, columns: columns.slice(0, count), values: values.slice(0, count) };
}

/** Writes the dense form of `rows` (indices into `sparse`) into `out`, row-major [rows.length, dim]. */
export function densifyRows(sparse: SparseRows, rows: ArrayLike<number>, out: Float32Array): Float32Array {
  const { dim, rowStart, columns, values } = sparse;
  const dense = out.subarray(0, rows.length * dim);
  dense.fill(0);
  for (let r = 0; r < rows.length; r++) {
    const offset = r * dim;
    for (let k = rowStart[rows[r]]; k < rowStart[rows[r] + 1]; k++) dense[offset + columns[k]] = values[k];
  }
  return dense;
}

function grow<T extends Int32Array | Float32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Character classes, one per UTF-16 code unit. */
export const SEPARATOR = 0;
/** Letters, digits and combining marks: runs of these form one word. */
export const WORD = 1;
/** Han, Hiragana, Katakana: each character is a word of its own, since those scripts use no spaces. */
const IDEOGRAPH = 2;
/** `$ € £ ¥ !`: single-character tokens, kept because currency and shouting are strong signals in e-mail. */
const SYMBOL = 3;

let charClass: Uint8Array | null = null;
let lowerCase: Uint16Array | null = null;

/**
 * Per-code-unit class and lower-case tables (64 K entries each, built on first use in ~16 ms). A
 * scanner over these tables replaced a Unicode-property regex plus String#toLowerCase: featurising
 * 10,000 SpamAssassin e-mails went from 2.0 s to 0.8 s. Simplifications, deterministic either way:
 * lower-casing is per code unit (no context rules such as final sigma), and astral-plane characters
 * (surrogate pairs: emoji, rare CJK) are separators.
 */
export function tables(): { charClass: Uint8Array; lowerCase: Uint16Array } {
  if (charClass === null || lowerCase === null) {
    charClass = new Uint8Array(0x10000);
    lowerCase = new Uint16Array(0x10000);
    const word = /^[\p{L}\p{N}\p{M}]$/u;
    const ideograph = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u;
    for (let code = 0; code < 0x10000; code++) {
      const char = String.fromCharCode(code);
      const lower = char.toLowerCase();
      lowerCase[code] = lower.length === 1 ? lower.charCodeAt(0) : code;
      if (code >= 0xd800 && code <= 0xdfff) charClass[code] = SEPARATOR;
      else if (ideograph.test(char)) charClass[code] = IDEOGRAPH;
      else if (word.test(char)) charClass[code] = WORD;
      else if ('$€£¥!'.includes(char)) charClass[code] = SYMBOL;
    }
  }
  return { charClass, lowerCase };
}

// Distinct constants so a bigram's hash does not equal a trigram's or a word's built from the same hashes.
export const NGRAM_SALT_2 = 0x85ebca77;
export const NGRAM_SALT_3 = 0xc2b2ae3d;
/** 1 + ln(count) for small counts: Math.log per bucket was ~10% of featurising time. */
const SUBLINEAR = Float64Array.from({ length: 256 }, (_, count) => (count === 0 ? 0 : 1 + Math.log(count)));
export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** Bookkeeping reused across rows so featurising allocates nothing per text. */
class RowScratch {
  /** Buckets touched in the current row, so finishing a row costs O(tokens), not O(dim). */
  readonly touched: Int32Array;
  /** 1 if the bucket is already listed in `touched` for the current row; reset as the row finishes. */
  readonly isTouched: Uint8Array;
  nTouched = 0;
  /** Hashes of the previous two tokens (most recent first) and how many tokens the row has so far. */
  previous1 = 0;
  previous2 = 0;
  seen = 0;
  constructor(dim: number) {
    this.touched = new Int32Array(dim);
    this.isTouched = new Uint8Array(dim);
  }
}

function featurizeRow(text: unknown, config: FeaturizerConfig, row: Float32Array, scratch: RowScratch): void {
  // Inputs come from Label Studio tasks, where a "text" field may be missing or not a string.
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
      addToken(hash, ngram, mask, row, scratch);
      hash = FNV_OFFSET;
      inWord = false;
    }
    if (kind !== SEPARATOR) addToken(Math.imul(FNV_OFFSET ^ code, FNV_PRIME), ngram, mask, row, scratch);
  }
  if (inWord) addToken(hash, ngram, mask, row, scratch);

  const { touched, nTouched, isTouched } = scratch;
  let sumSquares = 0;
  for (let i = 0; i < nTouched; i++) {
    const bucket = touched[i];
    isTouched[bucket] = 0;
    const count = row[bucket];
    // Signed counts are integers, so |count| is 0 (collisions cancelled) or ≥ 1.
    const magnitude = Math.abs(count);
    const value = Math.sign(count) * (magnitude < SUBLINEAR.length ? SUBLINEAR[magnitude] : 1 + Math.log(magnitude));
    row[bucket] = value;
    sumSquares += value * value;
  }
  if (sumSquares > 0) {
    const scale = 1 / Math.sqrt(sumSquares);
    for (let i = 0; i < nTouched; i++) row[touched[i]] *= scale;
  }
}

/** Adds a token's unigram and the n-grams it ends (up to order `ngram`) to the row. */
function addToken(hash: number, ngram: number, mask: number, row: Float32Array, scratch: RowScratch): void {
  addHash(hash, row, scratch, mask);
  if (ngram >= 2 && scratch.seen >= 1) {
    const bigram = Math.imul(hash ^ NGRAM_SALT_2, FNV_PRIME) ^ scratch.previous1;
    addHash(bigram, row, scratch, mask);
    if (ngram >= 3 && scratch.seen >= 2) {
      addHash(Math.imul(bigram ^ NGRAM_SALT_3, FNV_PRIME) ^ scratch.previous2, row, scratch, mask);
    }
  }
  scratch.previous2 = scratch.previous1;
  scratch.previous1 = hash;
  scratch.seen++;
}

function addHash(hash: number, row: Float32Array, scratch: RowScratch, mask: number): void {
  const mixed = fmix32(hash);
  const bucket = mixed & mask;
  // Bit 31 is independent of the low bits used for the bucket, for any dim ≤ 2^20.
  row[bucket] += mixed < 0 ? -1 : 1;
  if (scratch.isTouched[bucket] === 0) {
    scratch.isTouched[bucket] = 1;
    scratch.touched[scratch.nTouched++] = bucket;
  }
}

/** MurmurHash3 finaliser: spreads FNV's weak low bits across the whole word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
