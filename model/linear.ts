/**
 * Sparse linear SVMs trained by dual coordinate descent (Hsieh et al. 2008, the LIBLINEAR solver
 * behind scikit-learn's LinearSVC): L2-regularised squared hinge loss, one binary problem per
 * output column, plain TypeScript in float64. Cost per epoch is O(non-zeros × problems): it follows
 * the text, not the hash width, because columns are remapped to the U buckets that occur in the
 * training rows (`compactColumns`).
 *
 * Problem k minimises ½‖w_k‖² + Σ_i C_ik · max(0, 1 − y_ik (w_k·x_i + b_k))², with the bias b_k
 * learned as the weight of a constant feature of value BIAS (so it is regularised, as in LIBLINEAR).
 * Dual: minimise ½ αᵀ(Q + D)α − Σα, α ≥ 0, Q_ij = y_i y_j (x_i·x_j + BIAS²), D_ii = 1/(2 C_i);
 * w = Σ_i α_i y_i x_i. Each epoch visits the rows in a seeded permutation that depends only on
 * (seed, epoch, problem), so a run resumed from a checkpoint replays the same updates bit for bit.
 * A problem stops when its projected-gradient range falls below `tolerance` (LIBLINEAR's stopping
 * rule; 0.1 is its default) or after `epochs` epochs.
 */
import { deriveSeed, mulberry32 } from './random.js';
import type { SparseMatrix } from './tfidf.js';

export const BIAS = 1;

/** Training rows with columns renumbered 0 … U−1 in order of first appearance. */
export interface CompactRows {
  /** Local column → original bucket, [U]. */
  buckets: Int32Array;
  /** Same rows, local columns. */
  rows: SparseMatrix;
}

export function compactColumns(m: SparseMatrix): CompactRows {
  const local = new Int32Array(m.dim).fill(-1);
  const buckets: number[] = [];
  const cols = new Int32Array(m.cols.length);
  for (let k = 0; k < m.cols.length; k++) {
    let j = local[m.cols[k]];
    if (j < 0) {
      j = buckets.length;
      local[m.cols[k]] = j;
      buckets.push(m.cols[k]);
    }
    cols[k] = j;
  }
  return { buckets: Int32Array.from(buckets), rows: { dim: buckets.length, rowStart: m.rowStart, cols, vals: m.vals } };
}

export interface SvmProblem {
  rows: SparseMatrix;
  /** Binary problems (output columns). */
  problems: number;
  /** [n × problems] targets, +1 / −1. */
  y: Int8Array;
  /** [n × problems] cost C_ik (C × class weight). */
  cost: Float64Array;
}

/** Complete optimiser state: resuming from it is exact. */
export interface SvmState {
  /** Completed epochs. */
  epoch: number;
  /** [n × problems] dual variables. */
  alpha: Float64Array;
  /** [problems × (U + 1)] weights, problem-major; entry U of each block is the bias weight. */
  w: Float64Array;
  /** [problems] 1 once a problem met the tolerance. */
  done: Uint8Array;
  /** [problems × n] row order per problem; the first activeSize[k] rows are not shrunk. */
  active: Int32Array;
  /** [problems] */
  activeSize: Int32Array;
  /** [problems] projected-gradient extremes of the previous epoch (shrinking thresholds). */
  pgMaxOld: Float64Array;
  pgMinOld: Float64Array;
}

/**
 * Zero state. `subset` restricts training to those rows (e.g. a cross-validation fold) without
 * copying the problem; α of the other rows stays 0 and they are never visited.
 */
export function initialSvmState(p: SvmProblem, subset?: ArrayLike<number>): SvmState {
  const n = p.rows.rowStart.length - 1;
  const m = subset ? subset.length : n;
  const active = new Int32Array(p.problems * m);
  for (let k = 0; k < p.problems; k++) for (let i = 0; i < m; i++) active[k * m + i] = subset ? subset[i] : i;
  return {
    epoch: 0,
    alpha: new Float64Array(n * p.problems),
    w: new Float64Array(p.problems * (p.rows.dim + 1)),
    done: new Uint8Array(p.problems),
    active,
    activeSize: new Int32Array(p.problems).fill(m),
    pgMaxOld: new Float64Array(p.problems).fill(Infinity),
    pgMinOld: new Float64Array(p.problems).fill(-Infinity),
  };
}

/** Squared L2 norms of the rows, plus BIAS². */
export function rowNorms(rows: SparseMatrix): Float64Array {
  const n = rows.rowStart.length - 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = BIAS * BIAS;
    for (let k = rows.rowStart[i]; k < rows.rowStart[i + 1]; k++) s += rows.vals[k] * rows.vals[k];
    out[i] = s;
  }
  return out;
}

/**
 * One epoch of dual coordinate descent on every problem not yet done, with LIBLINEAR's shrinking:
 * a row whose α is 0 and whose gradient exceeds the previous epoch's largest projected gradient is
 * dropped from the active set; when the active rows meet the tolerance, all rows are re-activated
 * for a final check. Returns the mean over visited (row, problem) pairs of C_ik·max(0, 1 − y·score)²,
 * each score taken just before that row's update (a free running estimate of the weighted loss).
 */
export function svmEpoch(p: SvmProblem, state: SvmState, norms: Float64Array, seed: number, tolerance: number): number {
  const { rows, problems, y, cost } = p;
  const { rowStart, cols, vals } = rows;
  // Rows this state trains on (all rows, or the subset it was created with).
  const n = state.active.length / problems;
  const U1 = rows.dim + 1;
  const epoch = state.epoch + 1;
  const w = state.w;
  let lossSum = 0;
  let visits = 0;
  for (let k = 0; k < problems; k++) {
    if (state.done[k]) continue;
    const order = state.active.subarray(k * n, (k + 1) * n);
    let size = state.activeSize[k];
    const random = mulberry32(deriveSeed(seed, epoch, k, 0xcd));
    for (let i = size - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    const base = k * U1;
    const pgMaxOld = state.pgMaxOld[k];
    let pgMax = -Infinity;
    let pgMin = Infinity;
    for (let t = 0; t < size; t++) {
      const i = order[t];
      const e = i * problems + k;
      const yi = y[e];
      const Dii = 0.5 / cost[e];
      let score = w[base + rows.dim] * BIAS;
      for (let q = rowStart[i]; q < rowStart[i + 1]; q++) score += w[base + cols[q]] * vals[q];
      const slack = 1 - yi * score;
      if (slack > 0) lossSum += cost[e] * slack * slack;
      visits++;
      const a = state.alpha[e];
      const G = -slack + Dii * a;
      let PG = 0;
      if (a === 0) {
        if (G > pgMaxOld) {
          // Shrink: swap row i behind the active prefix and revisit position t.
          size--;
          order[t] = order[size];
          order[size] = i;
          t--;
          continue;
        }
        if (G < 0) PG = G;
      } else {
        PG = G;
      }
      if (PG > pgMax) pgMax = PG;
      if (PG < pgMin) pgMin = PG;
      if (Math.abs(PG) > 1e-12) {
        const next = Math.max(a - G / (norms[i] + Dii), 0);
        const d = (next - a) * yi;
        state.alpha[e] = next;
        if (d !== 0) {
          for (let q = rowStart[i]; q < rowStart[i + 1]; q++) w[base + cols[q]] += d * vals[q];
          w[base + rows.dim] += d * BIAS;
        }
      }
    }
    if (size === 0) pgMax = pgMin = 0;
    if (pgMax - pgMin <= tolerance) {
      if (size === n) {
        state.done[k] = 1;
      } else {
        // The active rows converged: re-activate everything for a full check next epoch.
        size = n;
        pgMax = Infinity;
        pgMin = -Infinity;
      }
    }
    state.activeSize[k] = size;
    state.pgMaxOld[k] = pgMax <= 0 ? Infinity : pgMax;
    state.pgMinOld[k] = pgMin >= 0 ? -Infinity : pgMin;
  }
  state.epoch = epoch;
  return visits > 0 ? lossSum / visits : 0;
}

/** Scores [n × problems] of `rows` (local columns) under the state's weights. */
export function svmScores(p: SvmProblem, state: SvmState): Float64Array {
  const { rows, problems } = p;
  const n = rows.rowStart.length - 1;
  const U1 = rows.dim + 1;
  const out = new Float64Array(n * problems);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < problems; k++) {
      const base = k * U1;
      let s = state.w[base + rows.dim] * BIAS;
      for (let q = rows.rowStart[i]; q < rows.rowStart[i + 1]; q++) s += state.w[base + rows.cols[q]] * rows.vals[q];
      out[i * problems + k] = s;
    }
  }
  return out;
}
