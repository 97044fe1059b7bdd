/**
 * Aggregates an operator watches (rounds by outcome, step durations, champions, the outbox),
 * read in a few grouped queries so a Prometheus scrape costs PostgreSQL milliseconds whatever
 * the history's length. Rounds run in worker processes and record themselves in the `rounds`
 * table (store/rounds.ts, migration 003); reading it here lets any API process expose them
 * without the workers keeping counters of their own.
 */
import { ROUND_STEPS, type RoundStep } from '../contract/index.js';
import type { Queryable } from './db.js';

/** Cumulative counts of durations (seconds) at or below each upper bound, as Prometheus buckets them. */
export interface DurationHistogram {
  step: RoundStep;
  /** `le` → observations ≤ le, for each bound given; `+Inf` is `count`. */
  buckets: Map<number, number>;
  count: number;
  /** Seconds. */
  sum: number;
}

export interface ChampionSummary {
  projectId: number;
  version: string;
  /** Cross-validated on the audit items (activities/evaluation.ts). */
  accuracy: number | null;
  macroF1: number | null;
  /** Held-out examples it was evaluated on. */
  /** Examples its accuracy and macro-F1 were estimated on. */
  evaluated: number | null;
  /** Labelled tasks in its snapshot (every one trains it): the learning curve's x. */
  labels: number;
  /** Unix seconds. */
  promotedAt: number;
}

export interface LoopStatistics {
  /** Finished rounds per project and outcome (promoted, rejected, failed, replayed). */
  roundsByOutcome: { projectId: number; outcome: string; count: number }[];
  /** Rounds running now, per project. */
  roundsRunning: { projectId: number; count: number }[];
  stepDurations: DurationHistogram[];
  champions: ChampionSummary[];
  outbox: {
    /** Recorded events of set-up projects not yet signalled to their loop. */
    unforwarded: number;
    /** Events of projects with no trainable label config: they wait by design (store/events.ts). */
    parked: number;
    /** Age of the oldest unforwarded event of a set-up project (s); 0 when none waits. */
    oldestAgeSeconds: number;
  };
}

/**
 * Reads everything in one go. `bucketBounds` are the step-duration histogram's upper bounds in
 * seconds, ascending.
 */
export async function loopStatistics(q: Queryable, bucketBounds: readonly number[]): Promise<LoopStatistics> {
  const [byOutcome, running, steps, champions, outbox] = await Promise.all([
    q.query<{ project_id: number; outcome: string; count: number }>(
      `SELECT project_id, outcome, count(*)::int AS count FROM rounds WHERE outcome <> 'running' GROUP BY project_id, outcome`,
    ),
    q.query<{ project_id: number; count: number }>(`SELECT project_id, count(*)::int AS count FROM rounds WHERE outcome = 'running' GROUP BY project_id`),
    // One row per (round, step) with its duration in seconds (rounds.steps is { step: { ms } }),
    // bounded to the known steps, then counted into every bucket at once.
    q.query<{ step: string; le: number; below: number; count: number; sum: number }>(
      `WITH d AS (
         SELECT s.key AS step, (s.value->>'ms')::float8 / 1000 AS seconds
           FROM rounds r CROSS JOIN LATERAL jsonb_each(r.steps) s
          WHERE s.key = ANY($2::text[]) AND jsonb_typeof(s.value->'ms') = 'number')
       SELECT d.step, b.le, count(*) FILTER (WHERE d.seconds <= b.le)::int AS below, count(*)::int AS count, sum(d.seconds)::float8 AS sum
         FROM d CROSS JOIN unnest($1::float8[]) AS b(le) GROUP BY d.step, b.le`,
      [bucketBounds, ROUND_STEPS],
    ),
    q.query<{ project_id: number; version: string; metrics: Record<string, unknown> | null; labels: number; promoted_at: number }>(
      `SELECT c.project_id, c.version, m.metrics, s.train_count::int AS labels,
              extract(epoch FROM c.promoted_at)::float8 AS promoted_at
         FROM champions c
         JOIN models m ON m.project_id = c.project_id AND m.version = c.version
         JOIN dataset_snapshots s ON s.id = m.snapshot_id`,
    ),
    q.query<{ unforwarded: number; parked: number; oldest_age: number }>(
      `SELECT count(*) FILTER (WHERE p.label_config IS NOT NULL)::int AS unforwarded,
              count(*) FILTER (WHERE p.label_config IS NULL)::int AS parked,
              coalesce(extract(epoch FROM now() - min(e.received_at) FILTER (WHERE p.label_config IS NOT NULL)), 0)::float8 AS oldest_age
         FROM webhook_events e LEFT JOIN projects p ON p.id = e.project_id
        WHERE e.forwarded_at IS NULL`,
    ),
  ]);

  const histograms = new Map<string, DurationHistogram>();
  for (const r of steps.rows) {
    let h = histograms.get(r.step);
    if (!h) histograms.set(r.step, (h = { step: r.step as RoundStep, buckets: new Map(), count: r.count, sum: r.sum }));
    h.buckets.set(r.le, r.below);
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    roundsByOutcome: byOutcome.rows.map((r) => ({ projectId: r.project_id, outcome: r.outcome, count: r.count })),
    roundsRunning: running.rows.map((r) => ({ projectId: r.project_id, count: r.count })),
    stepDurations: ROUND_STEPS.flatMap((s) => histograms.get(s) ?? []),
    champions: champions.rows.map((r) => ({
      projectId: r.project_id,
      version: r.version,
      accuracy: num(r.metrics?.accuracy),
      macroF1: num(r.metrics?.macroF1),
      evaluated: num(r.metrics?.n),
      labels: r.labels,
      promotedAt: r.promoted_at,
    })),
    outbox: { unforwarded: outbox.rows[0]?.unforwarded ?? 0, parked: outbox.rows[0]?.parked ?? 0, oldestAgeSeconds: outbox.rows[0]?.oldest_age ?? 0 },
  };
}
