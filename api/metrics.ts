/**
 * Label Loop's Prometheus metrics, one registry per API process (README "Metrics").
 *
 * Two kinds: what this process sees happen (webhook acknowledgements, /predict, forwarding;
 * recorded by api/plugins/metrics.ts and server.ts as it happens) and what happens in worker
 * processes (rounds, champions) or waits in PostgreSQL (the outbox), read from PostgreSQL at
 * scrape time so any API process reports the same numbers and workers keep no counters. Names
 * follow Prometheus conventions: `label_loop_` prefix, `_total` counters, base units (seconds,
 * ratios), `_info` for a label set worth 1.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TRAIN_ACTIONS } from '../labelstudio/webhooks.js';
import type { Db } from '../store/db.js';
import { isUnavailable } from '../store/db.js';
import { loopStatistics, type DurationHistogram, type LoopStatistics } from '../store/operations.js';

/** Upper bounds (s) of the /webhook acknowledgement histogram: Label Studio gives up after 1 s. */
const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Upper bounds (s) of /predict: one task takes milliseconds, "Retrieve Predictions" of 10,000 seconds. */
const PREDICT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 100];
/** Tasks per /predict request: 1 while annotating, up to 10,000 from "Retrieve Predictions". */
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Upper bounds (s) of round steps: a push of a few tasks takes 50 ms, training on 100k labels many minutes. */
export const STEP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** What happened to one /webhook request (README "HTTP API"). */
export type WebhookResult = 'recorded' | 'duplicate' | 'ignored' | 'conflict' | 'refused' | 'unavailable' | 'error';

/**
 * The `action` label: the actions Label Loop acts on by name, any other string `other`, and
 * `unknown` when the body was never read (a 401) or had none. Bounded, whatever callers send.
 */
export function actionLabel(action: unknown): string {
  if (typeof action !== 'string' || action === '') return 'unknown';
  return (TRAIN_ACTIONS as readonly string[]).includes(action) ? action : 'other';
}

/** The `result` label of a /webhook response, from its status code and (on 200) its `status` field. */
export function webhookResult(statusCode: number, status: unknown): WebhookResult {
  if (statusCode === 200 && (status === 'recorded' || status === 'duplicate' || status === 'ignored')) return status;
  if (statusCode === 409) return 'conflict';
  if (statusCode === 503) return 'unavailable';
  if (statusCode >= 400 && statusCode < 500) return 'refused';
  return 'error';
}

type HistogramReport = Awaited<ReturnType<Histogram<'step'>['get']>>;

/**
 * A histogram whose buckets are counted by PostgreSQL (store/operations.ts), not observed here:
 * prom-client's Histogram only counts observations it makes itself, so this one reports the
 * counts it was last given, in the same exposition format.
 */
class StoredHistogram extends Histogram<'step'> {
  private data: DurationHistogram[] = [];
  private readonly meta: { name: string; help: string };

  constructor(config: ConstructorParameters<typeof Histogram<'step'>>[0]) {
    super(config);
    this.meta = { name: config.name, help: config.help };
  }

  replace(data: DurationHistogram[]): void {
    this.data = data;
  }

  override reset(): void {
    this.data = [];
  }

  override async get(): Promise<HistogramReport> {
    return this.getForPromString();
  }

  /** What the registry prints; prom-client calls this in preference to get(). */
  async getForPromString(): Promise<HistogramReport> {
    const { name, help } = this.meta;
    const values = this.data.flatMap((h) => [
      ...[...h.buckets].sort(([a], [b]) => a - b).map(([le, below]) => ({ metricName: `${name}_bucket`, labels: { step: h.step, le }, value: below })),
      { metricName: `${name}_bucket`, labels: { step: h.step, le: '+Inf' }, value: h.count },
      { metricName: `${name}_sum`, labels: { step: h.step }, value: h.sum },
      { metricName: `${name}_count`, labels: { step: h.step }, value: h.count },
    ]);
    return { name, help, type: 'histogram', values, aggregator: 'sum' } as unknown as HistogramReport;
  }
}

export interface ApiMetricsOptions {
  db: Db;
  /** Webhook events waiting for their commit (EventIntake.depth). */
  intakeDepth: () => number;
  /** Process metrics (CPU, memory, event-loop lag, GC…); default true. */
  processMetrics?: boolean;
  /** Told when reading PostgreSQL at scrape time failed for a reason other than an outage. */
  onCollectError?: (err: Error) => void;
}

export class ApiMetrics {
  readonly registry = new Registry();

  /** Counted by api/plugins/metrics.ts. */
  readonly webhookEvents: Counter<'action' | 'result'>;
  readonly webhookAckDuration: Histogram<'result'>;
  readonly predictDuration: Histogram<'code'>;
  readonly predictBatch: Histogram;
  /** Counted by the forwarder's gateway (server.ts). */
  readonly forwarderSignals: Counter<'result'>;
  readonly forwarderEvents: Counter;

  private readonly fromDatabase: (Gauge<string> | Counter<string> | StoredHistogram)[];
  private readonly databaseUp: Gauge;
  private readonly rounds: Counter<'project' | 'outcome'>;
  private readonly roundsRunning: Gauge<'project'>;
  private readonly stepDuration: StoredHistogram;
  private readonly championAccuracy: Gauge<'project'>;
  private readonly championMacroF1: Gauge<'project'>;
  private readonly championEvaluated: Gauge<'project'>;
  private readonly championLabels: Gauge<'project'>;
  private readonly championPromotedAt: Gauge<'project'>;
  private readonly championInfo: Gauge<'project' | 'version'>;
  private readonly unforwarded: Gauge;
  private readonly parked: Gauge;
  private readonly forwarderLag: Gauge;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly opts: ApiMetricsOptions) {
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });

    this.webhookEvents = new Counter({
      name: 'label_loop_webhook_events_total',
      help: 'Webhook requests by action and result: recorded, duplicate (a redelivery), ignored (an action Label Loop does not act on), conflict (409: ids of another project), refused (other 4xx: auth, bad body, too large), unavailable (503: PostgreSQL down or the intake full), error (500).',
      labelNames: ['action', 'result'],
      registers,
    });
    this.webhookAckDuration = new Histogram({
      name: 'label_loop_webhook_ack_duration_seconds',
      help: 'Time from a /webhook request arriving to its answer (the event committed to PostgreSQL, or refused); Label Studio waits 1 s.',
      labelNames: ['result'],
      buckets: ACK_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'label_loop_intake_queue_depth',
      help: 'Webhook events waiting for their commit in this API process; /webhook answers 503 past LABEL_LOOP_INTAKE_QUEUE_LIMIT.',
      registers,
      collect() {
        this.set(opts.intakeDepth());
      },
    });
    this.predictDuration = new Histogram({
      name: 'label_loop_predict_duration_seconds',
      help: 'Time to answer /predict, by HTTP status code.',
      labelNames: ['code'],
      buckets: PREDICT_BUCKETS,
      registers,
    });
    this.predictBatch = new Histogram({
      name: 'label_loop_predict_batch_tasks',
      help: 'Tasks per answered /predict request.',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.forwarderSignals = new Counter({
      name: 'label_loop_forwarder_signals_total',
      help: 'Signals from this process\'s forwarder to project loops (one per project batch of recorded events), by result (ok, failed: retried with backoff).',
      labelNames: ['result'],
      registers,
    });
    this.forwarderEvents = new Counter({
      name: 'label_loop_forwarder_events_total',
      help: 'Recorded webhook events this process\'s forwarder delivered to their loops.',
      registers,
    });

    // --- read from PostgreSQL at scrape time -------------------------------------------------
    this.databaseUp = new Gauge({
      name: 'label_loop_database_up',
      help: '1 when this scrape read rounds, champions and the outbox from PostgreSQL; 0 when it could not (those series are then absent).',
      registers,
    });
    this.rounds = new Counter({
      name: 'label_loop_rounds_total',
      help: 'Finished training rounds by project and outcome: promoted, rejected (the candidate did not beat the champion), failed, replayed (a failed round a later replay completed).',
      labelNames: ['project', 'outcome'],
      registers,
    });
    this.roundsRunning = new Gauge({
      name: 'label_loop_rounds_running',
      help: 'Training rounds running now, by project.',
      labelNames: ['project'],
      registers,
    });
    this.stepDuration = new StoredHistogram({
      name: 'label_loop_round_step_duration_seconds',
      help: 'Duration of each step of the rounds run so far: reconcile, export, train, evaluate, promote, predict, push.',
      labelNames: ['step'],
      buckets: STEP_BUCKETS,
      registers,
    });
    const perProject = (name: string, help: string) => new Gauge({ name, help, labelNames: ['project'] as const, registers });
    this.championAccuracy = perProject('label_loop_champion_accuracy', 'Cross-validated accuracy of the project\'s champion on the audit items (ratio 0-1).');
    this.championMacroF1 = perProject('label_loop_champion_macro_f1', 'Cross-validated macro-F1 of the project\'s champion on the audit items (ratio 0-1).');
    this.championEvaluated = perProject('label_loop_champion_evaluated_examples', 'Audit items (tasks served at random) the champion\'s cross-validated accuracy and macro-F1 were estimated on.');
    this.championLabels = perProject('label_loop_champion_labels', 'Labelled tasks in the champion\'s dataset snapshot (all of them train it).');
    this.championPromotedAt = perProject('label_loop_champion_promoted_timestamp_seconds', 'When the champion was promoted (Unix time).');
    this.championInfo = new Gauge({
      name: 'label_loop_champion_info',
      help: 'The champion\'s model version, as a label (value 1).',
      labelNames: ['project', 'version'],
      registers,
    });
    this.unforwarded = new Gauge({
      name: 'label_loop_webhook_events_unforwarded',
      help: 'Recorded webhook events of set-up projects not yet signalled to their loop (all API processes).',
      registers,
    });
    this.parked = new Gauge({
      name: 'label_loop_webhook_events_parked',
      help: 'Recorded webhook events of projects with no trainable label config: they wait until the project is set up.',
      registers,
    });
    this.forwarderLag = new Gauge({
      name: 'label_loop_forwarder_lag_seconds',
      help: 'Age of the oldest recorded webhook event of a set-up project not yet signalled to its loop; 0 when none waits.',
      registers,
    });
    this.fromDatabase = [
      this.rounds,
      this.roundsRunning,
      this.stepDuration,
      this.championAccuracy,
      this.championMacroF1,
      this.championEvaluated,
      this.championLabels,
      this.championPromotedAt,
      this.championInfo,
      this.unforwarded,
      this.parked,
      this.forwarderLag,
    ];
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads PostgreSQL's side, then renders every metric in Prometheus' text format. */
  async scrape(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  /** Concurrent scrapes share one read. */
  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** No series at all: prom-client resets a metric without labels to 0, which would read as a value. */
  private clearDatabaseSeries(): void {
    for (const m of this.fromDatabase) {
      m.reset();
      if (!(m instanceof StoredHistogram)) m.remove({});
    }
  }

  private async load(): Promise<void> {
    let stats: LoopStatistics;
    try {
      stats = await loopStatistics(this.opts.db, STEP_BUCKETS);
    } catch (err) {
      // Stale numbers would look current: report none, and say so.
      this.clearDatabaseSeries();
      this.databaseUp.set(0);
      if (!isUnavailable(err)) this.opts.onCollectError?.(err as Error);
      return;
    }
    this.clearDatabaseSeries();
    this.databaseUp.set(1);
    for (const r of stats.roundsByOutcome) this.rounds.inc({ project: String(r.projectId), outcome: r.outcome }, r.count);
    for (const r of stats.roundsRunning) this.roundsRunning.set({ project: String(r.projectId) }, r.count);
    this.stepDuration.replace(stats.stepDurations);
    for (const c of stats.champions) {
      const project = String(c.projectId);
      if (c.accuracy !== null) this.championAccuracy.set({ project }, c.accuracy);
      if (c.macroF1 !== null) this.championMacroF1.set({ project }, c.macroF1);
      if (c.evaluated !== null) this.championEvaluated.set({ project }, c.evaluated);
      this.championLabels.set({ project }, c.labels);
      this.championPromotedAt.set({ project }, c.promotedAt);
      this.championInfo.set({ project, version: c.version }, 1);
    }
    this.unforwarded.set(stats.outbox.unforwarded);
    this.parked.set(stats.outbox.parked);
    this.forwarderLag.set(stats.outbox.oldestAgeSeconds);
  }
}
