/**
 * What one demo run did. State persists in `.data/`, so a second `npm start` continues the loop
 * of the first: its rounds and promotions must not be counted again. A run's rounds are those
 * numbered above the loop's round counter when the run began (rounds run one at a time, numbered
 * 1, 2, 3… by the loop).
 */
export interface DecidedRound {
  round: number;
  promoted: boolean;
}

export function tallyRun(roundsAtStart: number, roundsNow: number, decided: Iterable<DecidedRound>): { rounds: number; promotions: number } {
  let promotions = 0;
  const counted = new Set<number>();
  for (const d of decided) {
    if (d.round > roundsAtStart && d.promoted && !counted.has(d.round)) {
      counted.add(d.round);
      promotions++;
    }
  }
  return { rounds: Math.max(0, roundsNow - roundsAtStart), promotions };
}

/** The round a model was trained in, from its version (`r7-3f2a…` → 7); null for other names. */
export function roundOfVersion(version: string): number | null {
  const m = /^r(\d+)-/.exec(version);
  return m ? Number(m[1]) : null;
}
