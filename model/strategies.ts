/**
 * Query strategies: which unlabelled tasks to label next. Pure functions of their input (seeded),
 * returning an ordering of candidate indices, most informative first. The first `batchSize` entries
 * are the batch the strategy would serve now; batch strategies optimise that prefix jointly, and
 * the rest of the ordering is by the base score (or random), so callers can page further.
 *
 *   random            seeded permutation (the baseline).
 *   least_confidence  1 − p(top label) (multi-label: the weakest per-label decision), largest first.
 *   margin            p(top) − p(second) (multi-label: min |2p − 1|), smallest first.
 *   entropy           Shannon entropy of the row (multi-label: sum of binary entropies), largest first.
 *   diverse_margin    batch-aware: the DIVERSE_POOL_FACTOR·batchSize smallest-margin candidates,
 *                     then farthest-first traversal among them in the feature space (starting from
 *                     the most uncertain, distance = also to already labelled tasks), so a batch does
 *                     not spend its labels on near-duplicates of one confusing pattern.
 *   cold_start        before any model: k-means (k = batchSize, k-means++ seeding, 10 Lloyd steps)
 *                     on at most COLD_START_SAMPLE candidates; the task nearest each centroid, largest
 *                     cluster first: representative (dense regions) and diverse (one per cluster).
 *   hybrid            the default: a share `randomShare` of each batch drawn at random (which also
 *                     gives the loop an unbiased audit stream), the rest by margin; cold_start when no
 *                     probabilities exist yet. See HYBRID_RANDOM_SHARE for how the share was chosen.
 *
 * Feature-space strategies use a count-sketch of the TF-IDF rows into SKETCH_DIMS dense dimensions
 * (each hash bucket → one signed dimension; inner products are preserved in expectation), rows
 * re-normalised, distance = Euclidean. Cost: O(non-zeros) for the sketch, O(N log N) for sorting,
 * O(m · batch · SKETCH_DIMS) for farthest-first with m = min(N, DIVERSE_POOL_FACTOR · batch), and
 * O(COLD_START_SAMPLE · k · SKETCH_DIMS · 10) for cold start, so 100,000 candidates rank in well
 * under a second (bench/labelEfficiency.ts "strategy cost").
 */
import { fmix32 } from './featurize.js';
import { deriveSeed, mulberry32 } from './random.js';
import type { SparseMatrix } from './tfidf.js';
import { scorePrediction } from './uncertainty.js';

export const STRATEGIES = ['random', 'least_confidence', 'margin', 'entropy', 'diverse_margin', 'cold_start', 'hybrid'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export const SKETCH_DIMS = 256;
export const DIVERSE_POOL_FACTOR = 5;
export const COLD_START_SAMPLE = 5000;
/**
 * Random share of each hybrid batch, from bench/labelEfficiency.ts (BENCHMARKS.md "Strategies",
 * 5 seeds, batches of 25): on SpamAssassin margin reaches random's 500-label accuracy with 115
 * labels, hybrid 50% with 120 and hybrid 25% with 109 (within noise); on the Brown genres least
 * confidence and entropy slump below random from ~150 labels on while margin and both hybrids track
 * random (nothing beats random there by more than noise). 50% is kept because the random half is the
 * audit stream that makes accuracy estimates and the promotion gate unbiased (BENCHMARKS.md
 * "Evaluation design"), at a cost of ~5 labels on SpamAssassin.
 */
export const HYBRID_RANDOM_SHARE = 0.5;

export interface RankInput {
  /** Number of candidates; needed only when neither probabilities nor features are given (random). */
  candidates?: number;
  /** [N][L] model probabilities of the candidates; absent before any model exists. */
  probabilities?: readonly (readonly number[])[];
  multiLabel?: boolean;
  /** Candidate feature rows (N rows), e.g. `Classifier.features(texts)`; needed by diverse_margin and cold_start. */
  features?: SparseMatrix;
  /** Feature rows of tasks already labelled (diverse_margin keeps away from them). */
  labelledFeatures?: SparseMatrix;
  seed: number;
  /** Tasks to be served in this round (≥ 1). */
  batchSize: number;
  /** hybrid only: share of the batch drawn at random, in [0, 1]. Default HYBRID_RANDOM_SHARE. */
  randomShare?: number;
}

export function rank(strategy: StrategyName, input: RankInput): Int32Array {
  const N = candidateCount(input);
  if (!Number.isInteger(input.batchSize) || input.batchSize < 1) throw new Error(`rank: batchSize must be a positive integer, got ${input.batchSize}`);
  const batch = Math.min(input.batchSize, N);
  switch (strategy) {
    case 'random':
      return permutation(N, deriveSeed(input.seed, 0x7a4d));
    case 'least_confidence':
    case 'margin':
    case 'entropy':
      return byScore(uncertainty(strategy, needProbabilities(strategy, input), input.multiLabel ?? false), input.seed);
    case 'diverse_margin':
      return diverseMargin(input, batch);
    case 'cold_start':
      return coldStart(needFeatures(strategy, input), batch, input.seed);
    case 'hybrid':
      if (!input.probabilities) return input.features ? coldStart(input.features, batch, input.seed) : permutation(N, deriveSeed(input.seed, 0x7a4d));
      return hybrid(input, batch);
    default:
      throw new Error(`rank: unknown strategy "${String(strategy)}"; expected one of ${STRATEGIES.join(', ')}`);
  }
}

function candidateCount(input: RankInput): number {
  if (input.probabilities) {
    if (input.features && input.features.rowStart.length - 1 !== input.probabilities.length) {
      throw new Error(`rank: ${input.probabilities.length} probability rows but ${input.features.rowStart.length - 1} feature rows`);
    }
    return input.probabilities.length;
  }
  if (input.features) return input.features.rowStart.length - 1;
  if (input.candidates !== undefined && Number.isInteger(input.candidates) && input.candidates >= 0) return input.candidates;
  throw new Error('rank: give probabilities, features or the candidate count');
}

function needProbabilities(strategy: string, input: RankInput): readonly (readonly number[])[] {
  if (!input.probabilities) throw new Error(`rank: ${strategy} needs model probabilities`);
  return input.probabilities;
}

function needFeatures(strategy: string, input: RankInput): SparseMatrix {
  if (!input.features) throw new Error(`rank: ${strategy} needs candidate features`);
  return input.features;
}

/** Uncertainty per candidate, LARGER = more informative. */
export function uncertainty(kind: 'least_confidence' | 'margin' | 'entropy', probabilities: readonly (readonly number[])[], multiLabel: boolean): Float64Array {
  const out = new Float64Array(probabilities.length);
  if (probabilities.length === 0) return out;
  const L = probabilities[0].length;
  const spec = { labels: Array.from({ length: L }, (_, j) => String(j)), multiLabel };
  probabilities.forEach((row, i) => {
    const s = scorePrediction(row as number[], spec);
    out[i] = kind === 'least_confidence' ? s.leastConfidence : kind === 'margin' ? -s.margin : s.entropy;
  });
  return out;
}

/** Seeded permutation of 0 … n−1. */
function permutation(n: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const random = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Indices by descending score; ties in a seeded random order (not by index, which would favour old tasks). */
function byScore(score: Float64Array, seed: number): Int32Array {
  const tieBreak = permutation(score.length, deriveSeed(seed, 0x71e));
  const rankOf = new Int32Array(score.length);
  tieBreak.forEach((i, r) => (rankOf[i] = r));
  return Int32Array.from(score.keys()).sort((a, b) => score[b] - score[a] || rankOf[a] - rankOf[b]);
}

/** Count-sketch of sparse rows into `dims` dense dimensions, rows L2-normalised. [rows × dims] */
export function sketch(rows: SparseMatrix, dims = SKETCH_DIMS): Float32Array {
  const n = rows.rowStart.length - 1;
  const out = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    const o = i * dims;
    for (let q = rows.rowStart[i]; q < rows.rowStart[i + 1]; q++) {
      const h = fmix32(rows.cols[q] ^ 0x5ce7c4);
      out[o + ((h >>> 1) % dims)] += h & 1 ? rows.vals[q] : -rows.vals[q];
    }
    let s = 0;
    for (let d = 0; d < dims; d++) s += out[o + d] * out[o + d];
    if (s > 0) {
      const scale = 1 / Math.sqrt(s);
      for (let d = 0; d < dims; d++) out[o + d] *= scale;
    }
  }
  return out;
}

function squaredDistance(a: Float32Array, i: number, b: Float32Array, j: number, dims: number): number {
  let s = 0;
  for (let d = 0; d < dims; d++) {
    const x = a[i * dims + d] - b[j * dims + d];
    s += x * x;
  }
  return s;
}

function diverseMargin(input: RankInput, batch: number): Int32Array {
  const byMargin = byScore(uncertainty('margin', needProbabilities('diverse_margin', input), input.multiLabel ?? false), input.seed);
  const features = needFeatures('diverse_margin', input);
  const m = Math.min(byMargin.length, Math.max(batch, DIVERSE_POOL_FACTOR * batch));
  const pool = byMargin.subarray(0, m);
  const sub = subsetRows(features, pool);
  const S = sketch(sub);
  const dims = SKETCH_DIMS;
  // Distance of each pooled candidate to the nearest labelled task (a subsample of at most 500).
  const nearest = new Float64Array(m).fill(Infinity);
  if (input.labelledFeatures && input.labelledFeatures.rowStart.length > 1) {
    const labelled = input.labelledFeatures;
    const count = labelled.rowStart.length - 1;
    const take = count <= 500 ? Int32Array.from({ length: count }, (_, i) => i) : permutation(count, deriveSeed(input.seed, 0x1ab)).subarray(0, 500);
    const Ls = sketch(subsetRows(labelled, take));
    for (let i = 0; i < m; i++) for (let j = 0; j < take.length; j++) nearest[i] = Math.min(nearest[i], squaredDistance(S, i, Ls, j, dims));
  }
  const chosen: number[] = [];
  const taken = new Uint8Array(m);
  for (let t = 0; t < batch; t++) {
    // First pick: the most uncertain candidate unless labelled tasks give distances to maximise.
    let best = -1;
    let bestDistance = -1;
    for (let i = 0; i < m; i++) {
      if (taken[i]) continue;
      const d = nearest[i];
      if (d > bestDistance + 1e-12 || best < 0) {
        best = i;
        bestDistance = d;
      }
    }
    if (chosen.length === 0 && !Number.isFinite(bestDistance)) best = 0;
    taken[best] = 1;
    chosen.push(best);
    for (let i = 0; i < m; i++) if (!taken[i]) nearest[i] = Math.min(nearest[i], squaredDistance(S, i, S, best, dims));
  }
  const out = new Int32Array(byMargin.length);
  let w = 0;
  for (const i of chosen) out[w++] = pool[i];
  const inBatch = new Set(chosen.map((i) => pool[i]));
  for (const i of byMargin) if (!inBatch.has(i)) out[w++] = i;
  return out;
}

function coldStart(features: SparseMatrix, batch: number, seed: number): Int32Array {
  const N = features.rowStart.length - 1;
  const all = permutation(N, deriveSeed(seed, 0xc01d));
  const sample = all.subarray(0, Math.min(N, COLD_START_SAMPLE));
  const n = sample.length;
  const dims = 64;
  const X = sketch(subsetRows(features, sample), dims);
  const k = Math.min(batch, n);
  const random = mulberry32(deriveSeed(seed, 0x6a3a));
  // k-means++ seeding.
  const centres = new Float32Array(k * dims);
  const nearest = new Float64Array(n).fill(Infinity);
  let first = Math.floor(random() * n);
  for (let c = 0; c < k; c++) {
    if (c > 0) {
      let total = 0;
      for (let i = 0; i < n; i++) total += nearest[i];
      let target = random() * total;
      first = n - 1;
      for (let i = 0; i < n; i++) {
        target -= nearest[i];
        if (target <= 0 && nearest[i] > 0) {
          first = i;
          break;
        }
      }
    }
    centres.set(X.subarray(first * dims, (first + 1) * dims), c * dims);
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i], squaredDistance(X, i, centres, c, dims));
  }
  // Lloyd iterations.
  const assignment = new Int32Array(n);
  for (let iteration = 0; iteration < 10; iteration++) {
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const d = squaredDistance(X, i, centres, c, dims);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      assignment[i] = best;
    }
    const sums = new Float64Array(k * dims);
    const sizes = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      sizes[assignment[i]]++;
      for (let d = 0; d < dims; d++) sums[assignment[i] * dims + d] += X[i * dims + d];
    }
    for (let c = 0; c < k; c++) if (sizes[c] > 0) for (let d = 0; d < dims; d++) centres[c * dims + d] = sums[c * dims + d] / sizes[c];
  }
  const sizes = new Int32Array(k);
  const medoid = new Int32Array(k).fill(-1);
  const medoidD = new Float64Array(k).fill(Infinity);
  for (let i = 0; i < n; i++) {
    const c = assignment[i];
    sizes[c]++;
    const d = squaredDistance(X, i, centres, c, dims);
    if (d < medoidD[c]) {
      medoidD[c] = d;
      medoid[c] = i;
    }
  }
  const clusters = Array.from({ length: k }, (_, c) => c)
    .filter((c) => medoid[c] >= 0)
    .sort((a, b) => sizes[b] - sizes[a] || a - b);
  const out = new Int32Array(N);
  const used = new Uint8Array(N);
  let w = 0;
  for (const c of clusters) {
    const i = sample[medoid[c]];
    if (used[i]) continue;
    used[i] = 1;
    out[w++] = i;
  }
  for (const i of all) if (!used[i]) out[w++] = i;
  return out;
}

/**
 * The hybrid ordering plus which of the first `batchSize` entries are the random share (flag 1):
 * those are a uniform sample of the candidates, so the loop can use their labels as an unbiased
 * audit stream (BENCHMARKS.md "Evaluation design").
 */
export function hybridRank(input: RankInput): { order: Int32Array; randomPick: Uint8Array } {
  if (!input.probabilities) throw new Error('hybridRank: needs model probabilities');
  const batch = Math.min(input.batchSize, input.probabilities.length);
  const flags = new Uint8Array(batch);
  return { order: hybrid(input, batch, flags), randomPick: flags };
}

function hybrid(input: RankInput, batch: number, flags?: Uint8Array): Int32Array {
  const share = input.randomShare ?? HYBRID_RANDOM_SHARE;
  if (!(share >= 0 && share <= 1)) throw new Error(`rank: randomShare must be in [0, 1], got ${share}`);
  const byMargin = byScore(uncertainty('margin', input.probabilities!, input.multiLabel ?? false), input.seed);
  const random = permutation(byMargin.length, deriveSeed(input.seed, 0x7a4d));
  const randomCount = Math.round(share * batch);
  const used = new Uint8Array(byMargin.length);
  const out = new Int32Array(byMargin.length);
  let w = 0;
  let r = 0;
  let u = 0;
  // Interleave so any prefix of the batch has about the same share: slot t is random when
  // ⌊(t + 1)·share⌋ − ⌊t·share⌋ = 1 (Bresenham), until randomCount random picks are made.
  let randomMade = 0;
  for (let t = 0; t < batch; t++) {
    const takeRandom = randomMade < randomCount && (Math.floor((t + 1) * share) > Math.floor(t * share) || batch - t <= randomCount - randomMade);
    if (takeRandom) {
      while (used[random[r]]) r++;
      if (flags) flags[w] = 1;
      out[w++] = random[r];
      used[random[r]] = 1;
      randomMade++;
    } else {
      while (used[byMargin[u]]) u++;
      out[w++] = byMargin[u];
      used[byMargin[u]] = 1;
    }
  }
  for (const i of byMargin) if (!used[i]) out[w++] = i;
  return out;
}

/** Rows `keep` of a CSR matrix, as a new CSR matrix (same columns). */
export function subsetRows(m: SparseMatrix, keep: ArrayLike<number>): SparseMatrix {
  const rowStart = new Int32Array(keep.length + 1);
  let nnz = 0;
  for (let r = 0; r < keep.length; r++) {
    nnz += m.rowStart[keep[r] + 1] - m.rowStart[keep[r]];
    rowStart[r + 1] = nnz;
  }
  const cols = new Int32Array(nnz);
  const vals = new Float32Array(nnz);
  for (let r = 0; r < keep.length; r++) {
    const i = keep[r];
    cols.set(m.cols.subarray(m.rowStart[i], m.rowStart[i + 1]), rowStart[r]);
    vals.set(m.vals.subarray(m.rowStart[i], m.rowStart[i + 1]), rowStart[r]);
  }
  return { dim: m.dim, rowStart, cols, vals };
}
