/**
 * Seeded pseudo-randomness in plain JS, so initial weights and batch order are identical on every
 * backend and in every process (tfjs's own random ops differ between backends).
 */

/** mulberry32: a 32-bit-state generator returning floats in [0, 1). Plenty for init and shuffling. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Folds any number of integers (seed, epoch, purpose tag…) into one well-mixed 32-bit seed. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    // Both halves of a safe integer take part, so seeds ≥ 2^32 do not collide with their low bits.
    const low = part >>> 0;
    const high = Math.floor(part / 4294967296) >>> 0;
    h = Math.imul(h ^ low, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ high, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** In-place Fisher–Yates shuffle of `values` driven by `random`. */
export function shuffleInPlace(values: { length: number; [index: number]: unknown }, random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = values[i];
    values[i] = values[j];
    values[j] = swap;
  }
}
