/**
 * Complement naive Bayes (Rennie et al. 2003; scikit-learn's ComplementNB with norm=False) on
 * TF-IDF rows, single-label only: one counting pass, so it is the member that learns fastest from
 * the first few dozen labels.
 *
 * For class c and local column j: comp_cj = Σ_{i ∉ c} x_ij + smoothing, S_c = Σ_j comp_cj,
 * weight_cj = −ln(comp_cj / S_c); score_c(x) = Σ_j x_j · weight_cj. Weights are returned centred
 * across classes (weight_cj − mean_c weight_cj), which leaves every softmax unchanged and keeps
 * their magnitude comparable to the SVM's. Columns absent from the training rows get no weight,
 * as words outside a fitted vocabulary get none in scikit-learn; likewise columns with no mass in
 * these rows (which happens when the caller's column space comes from a larger set of rows).
 */
import type { SparseMatrix } from './tfidf.js';

export interface NaiveBayes {
  /** [U × classes] centred weights, column-major by feature (row j holds the classes' weights). */
  weights: Float64Array;
}

/** Sufficient statistics: per-class feature mass, from which any subset's model follows by subtraction. */
export interface NbCounts {
  classes: number;
  /** [U × classes] Σ_{i ∈ c} x_ij */
  featureCount: Float64Array;
  /** [U] Σ_c featureCount */
  total: Float64Array;
  /** [classes] Σ_j (total_j − featureCount_cj) over columns with total > 0; S_c = S0_c + smoothing · seen. */
  S0: Float64Array;
  /** Columns with total > 0. */
  seen: number;
}

export function nbCounts(rows: SparseMatrix, classOf: Int32Array, classes: number, only?: ArrayLike<number>): NbCounts {
  const U = rows.dim;
  const K = classes;
  const featureCount = new Float64Array(U * K);
  const total = new Float64Array(U);
  const visit = (i: number) => {
    const c = classOf[i];
    for (let q = rows.rowStart[i]; q < rows.rowStart[i + 1]; q++) {
      featureCount[rows.cols[q] * K + c] += rows.vals[q];
      total[rows.cols[q]] += rows.vals[q];
    }
  };
  if (only) for (let r = 0; r < only.length; r++) visit(only[r]);
  else for (let i = 0; i + 1 < rows.rowStart.length; i++) visit(i);
  const S0 = new Float64Array(K);
  let seen = 0;
  for (let j = 0; j < U; j++) {
    if (total[j] === 0) continue;
    seen++;
    for (let c = 0; c < K; c++) S0[c] += total[j] - featureCount[j * K + c];
  }
  return { classes: K, featureCount, total, S0, seen };
}

/**
 * Out-of-fold NB scores: for each row i of `held`, the score under the model of (all rows − held),
 * computed from the full counts minus the held rows' counts, touching only the held rows' columns
 * (plus a pass over the columns they make unseen). Adds into out[i × K + k] (row-centred).
 */
export function nbHeldOutScores(rows: SparseMatrix, classOf: Int32Array, full: NbCounts, held: ArrayLike<number>, smoothing: number, out: Float64Array): void {
  const K = full.classes;
  const a = smoothing;
  const K1 = K + 1;
  // held[j*(K+1) + c]: the held rows' mass per class; entry K: their total. Dense, touched columns listed.
  const heldCount = new Float64Array(full.total.length * K1);
  const touched: number[] = [];
  for (let r = 0; r < held.length; r++) {
    const i = held[r];
    const c = classOf[i];
    for (let q = rows.rowStart[i]; q < rows.rowStart[i + 1]; q++) {
      const o = rows.cols[q] * K1;
      if (heldCount[o + K] === 0) touched.push(rows.cols[q]);
      heldCount[o + c] += rows.vals[q];
      heldCount[o + K] += rows.vals[q];
    }
  }
  // S_c of the remaining rows: subtract the held rows' complement mass; columns left with no mass drop out.
  const S = Float64Array.from(full.S0, (s0) => s0 + a * full.seen);
  for (const j of touched) {
    const o = j * K1;
    const total = full.total[j] - heldCount[o + K];
    for (let c = 0; c < K; c++) {
      const before = full.total[j] - full.featureCount[j * K + c] + a;
      const after = total - (full.featureCount[j * K + c] - heldCount[o + c]) + a;
      S[c] += total > 1e-12 ? after - before : -before;
    }
  }
  const logS = Array.from(S, Math.log);
  // Centred weights of the fold model, once per touched column (K logs each), then a lookup per non-zero.
  const weights = new Float64Array(full.total.length * K);
  const usable = new Uint8Array(full.total.length);
  for (const j of touched) {
    const o = j * K1;
    const total = full.total[j] - heldCount[o + K];
    if (total <= 1e-12) continue;
    usable[j] = 1;
    let mean = 0;
    for (let c = 0; c < K; c++) {
      const w = logS[c] - Math.log(total - (full.featureCount[j * K + c] - heldCount[o + c]) + a);
      weights[j * K + c] = w;
      mean += w;
    }
    mean /= K;
    for (let c = 0; c < K; c++) weights[j * K + c] -= mean;
  }
  for (let r = 0; r < held.length; r++) {
    const i = held[r];
    const base = i * K;
    for (let q = rows.rowStart[i]; q < rows.rowStart[i + 1]; q++) {
      const j = rows.cols[q];
      if (!usable[j]) continue;
      const x = rows.vals[q];
      for (let c = 0; c < K; c++) out[base + c] += x * weights[j * K + c];
    }
  }
}

/** `classOf[i]` is the class index of row i (0 … classes−1). */
export function complementNaiveBayes(rows: SparseMatrix, classOf: Int32Array, classes: number, smoothing: number): NaiveBayes {
  const U = rows.dim;
  const n = rows.rowStart.length - 1;
  const K = classes;
  // featureCount[j*K + c] = Σ_{i ∈ c} x_ij
  const featureCount = new Float64Array(U * K);
  const total = new Float64Array(U);
  for (let i = 0; i < n; i++) {
    const c = classOf[i];
    for (let q = rows.rowStart[i]; q < rows.rowStart[i + 1]; q++) {
      featureCount[rows.cols[q] * K + c] += rows.vals[q];
      total[rows.cols[q]] += rows.vals[q];
    }
  }
  const S = new Float64Array(K);
  for (let j = 0; j < U; j++) for (let c = 0; c < K; c++) S[c] += total[j] - featureCount[j * K + c] + smoothing;
  const logS = Array.from(S, Math.log);
  const weights = new Float64Array(U * K);
  for (let j = 0; j < U; j++) {
    // A column no training row has carries no evidence (it would only add a class-dependent
    // constant through S_c): leave its weights at 0, as if outside the vocabulary.
    if (total[j] === 0) continue;
    let mean = 0;
    for (let c = 0; c < K; c++) {
      const w = logS[c] - Math.log(total[j] - featureCount[j * K + c] + smoothing);
      weights[j * K + c] = w;
      mean += w;
    }
    mean /= K;
    for (let c = 0; c < K; c++) weights[j * K + c] -= mean;
  }

  return { weights };
}
