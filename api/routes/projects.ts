/** A project's overview: the list, the loop's live status, its settings, and the sampling queue. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { positiveId } from '../../labelstudio/webhooks.js';
import { getRound, listProjects, saveProjectSettings, getProjectSettings, getProjectStrategy, unlabelledQueues, unlabelledSample, labelledCounts, stillUnlabelled, type NextTask } from '../../store/index.js';
import type { Db } from '../../store/db.js';
import { DEFAULT_STRATEGY, interleave, SAMPLING_STRATEGIES, type SamplingStrategy } from '../../policies/sampling.js';
import { isAudit } from '../../dataset/audit.js';
import { rank } from '../../model/strategies.js';
import { countFeatures, defaultSpec, fitIdfOn } from '../../model/classifier.js';
import { tfidf } from '../../model/tfidf.js';
import type { ChampionCache } from '../championCache.js';
import { HttpError } from '../errors.js';
import { errorReplies, Nullable, ProjectParams, Progress, RoundReply } from '../schemas.js';
import type { LoopStatus, ProjectMode, RoundProgress } from '../../contract/index.js';
import type { RoundRow } from '../../store/rounds.js';
import { requireLoops, requireProject, type ProjectApiDeps } from './common.js';

/** One project of `GET /api/projects` (the CLI's `status` without a project, the dashboard's list). */
export interface ProjectSummary {
  id: number;
  championVersion: string | null;
  tasks: number;
  labelled: number;
  mode: ProjectMode;
  strategy: string;
  lastRound: RoundRow | null;
}

/** `GET /api/projects/:id/status`: the loop's query result and the running round's live progress. */
export type ProjectStatus = LoopStatus & { progress: RoundProgress | null };

export interface ProjectDeps extends ProjectApiDeps {
  champions: ChampionCache;
  /** The audit stream's share and the strategy of projects that chose none (worker/config.ts). */
  sampling: { auditShare: number; defaultStrategy: SamplingStrategy };
}

/**
 * Serving order per strategy in SQL (the same order as the scores the push gives Label Studio:
 * policies/sampling.ts); diverse_margin follows the queue the round placed.
 */
const ORDER_SQL: Record<SamplingStrategy, string> = {
  margin: 'p.margin ASC',
  least_confidence: 'p.score ASC',
  entropy: 'p.entropy DESC',
  diverse_margin: 'p.queue_score ASC NULLS LAST, p.margin ASC',
  random: 't.order_draw',
};

/** Tasks the cold start orders (a sample): k-means on their TF-IDF rows stays well under a second. */
const COLD_START_SAMPLE = 2_000;
/** Clusters of the cold start: the first this-many tasks are one near each centroid. */
const COLD_START_CLUSTERS = 50;
/** How long a project's cold-start order is reused (it only matters until the first model). */
const COLD_START_TTL_MS = 10 * 60_000;

interface ColdStart {
  at: number;
  tasks: { taskId: number; data: unknown }[];
}

/**
 * Cold start: of a fixed sample of unlabelled non-audit tasks, one near each of k-means'
 * centroids first (largest cluster first), then the rest. Computed once per project and reused
 * (a client asking for one task at a time walks down the same diverse order), minus the tasks
 * labelled since.
 */
async function coldStartOrder(db: Db, cache: Map<number, ColdStart>, projectId: number, limit: number, auditShare: number): Promise<NextTask[]> {
  let entry = cache.get(projectId);
  if (!entry || Date.now() - entry.at > COLD_START_TTL_MS) {
    const sample = (await unlabelledSample(db, projectId, COLD_START_SAMPLE)).filter((t) => !isAudit(projectId, t.taskId, auditShare));
    let tasks: ColdStart['tasks'] = [];
    if (sample.length > 0) {
      const texts = sample.map((t) => Object.values((t.data ?? {}) as Record<string, unknown>).filter((v) => typeof v === 'string').join(' '));
      const spec = defaultSpec(['a', 'b'], false);
      const counts = countFeatures(texts, spec);
      const order = rank('cold_start', { features: tfidf(counts, fitIdfOn(counts).values), seed: projectId, batchSize: Math.min(COLD_START_CLUSTERS, sample.length) });
      tasks = Array.from(order, (i) => sample[i]);
    }
    if (cache.size > 1_000) cache.clear();
    cache.set(projectId, (entry = { at: Date.now(), tasks }));
  }
  const still = await stillUnlabelled(db, entry.tasks.map((t) => t.taskId));
  return entry.tasks
    .filter((t) => still.has(t.taskId))
    .slice(0, limit)
    .map((t) => ({ taskId: t.taskId, data: t.data, modelVersion: null, labels: null, score: null, leastConfidence: null, margin: null, entropy: null, audit: false }));
}

const NextTaskReply = Type.Object({
  taskId: Type.Integer(),
  data: Type.Unknown(),
  modelVersion: Nullable(Type.String()),
  labels: Nullable(Type.Array(Type.String())),
  score: Nullable(Type.Number()),
  leastConfidence: Nullable(Type.Number()),
  margin: Nullable(Type.Number()),
  entropy: Nullable(Type.Number()),
  audit: Type.Boolean(),
});
const Mode = Type.Union([Type.Literal('continuous'), Type.Literal('batch')], { description: 'continuous or batch' });
const Strategy = Type.Union(
  SAMPLING_STRATEGIES.map((s) => Type.Literal(s)),
  { description: `one of ${SAMPLING_STRATEGIES.join(', ')}` },
);
const Settings = Type.Object({
  mode: Mode,
  strategy: Type.String(),
  minAnnotations: Type.Optional(Type.Integer()),
  quietPeriodMs: Type.Optional(Type.Integer()),
  maxWaitMs: Type.Optional(Type.Integer()),
});

export async function projectRoutes(app: FastifyInstance, deps: ProjectDeps): Promise<void> {
  const { db, champions } = deps;
  /** Per-project cold-start orders (before the first model). */
  const coldStarts = new Map<number, ColdStart>();
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/api/projects',
    {
      schema: {
        response: {
          200: Type.Object({
            projects: Type.Array(
              Type.Object({
                id: Type.Integer(),
                championVersion: Nullable(Type.String()),
                tasks: Type.Integer(),
                labelled: Type.Integer(),
                mode: Type.String(),
                strategy: Type.String(),
                lastRound: Nullable(RoundReply),
              }),
            ),
          }),
          ...errorReplies,
        },
      },
    },
    async () => {
      const rows = await listProjects(db);
      const projects = await Promise.all(
        rows.map(async (p): Promise<ProjectSummary> => ({
          id: p.id,
          championVersion: p.championVersion,
          tasks: p.tasks,
          labelled: p.labelled,
          mode: p.mode ?? 'continuous',
          strategy: p.strategy ?? DEFAULT_STRATEGY,
          lastRound: p.lastRound ? ((await getRound(db, p.id, p.lastRound)) ?? null) : null,
        })),
      );
      return { projects };
    },
  );

  const LoopStatusReply = Type.Object(
    {
      projectId: Type.Integer(),
      phase: Type.String(),
      currentRound: Nullable(Type.Integer()),
      championVersion: Nullable(Type.String()),
      lastError: Nullable(Type.String()),
      progress: Nullable(Progress),
    },
    { additionalProperties: true },
  );
  r.get('/api/projects/:id/status', { schema: { params: ProjectParams, response: { 200: LoopStatusReply, ...errorReplies } } }, async (req): Promise<ProjectStatus> => {
    const projectId = positiveId(req.params.id, 'id');
    const status = await requireLoops(deps).status(projectId);
    if (!status) throw new HttpError(404, `project ${projectId} has no running loop (none started yet, or it was terminated)`);
    // The running step's progress is written by the worker's activities to the rounds table.
    const progress = status.currentRound !== null ? ((await getRound(db, projectId, status.currentRound))?.progress ?? null) : null;
    return { ...status, progress };
  });

  r.get(
    '/api/projects/:id/settings',
    { schema: { params: ProjectParams, response: { 200: Settings, ...errorReplies } } },
    async (req) => {
      const projectId = positiveId(req.params.id, 'id');
      await requireProject(db, projectId);
      const [stored, strategy] = await Promise.all([getProjectSettings(db, projectId), getProjectStrategy(db, projectId)]);
      return { mode: stored.mode ?? 'continuous', strategy: strategy ?? DEFAULT_STRATEGY, ...stored };
    },
  );

  r.patch(
    '/api/projects/:id/settings',
    {
      bodyLimit: 16 * 1024,
      schema: {
        params: ProjectParams,
        body: Type.Object(
          {
            mode: Type.Optional(Mode),
            strategy: Type.Optional(Strategy),
            minAnnotations: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000 })),
            quietPeriodMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000 * 30 })),
            maxWaitMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000 * 365 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Settings, ...errorReplies },
      },
    },
    async (req) => {
      const projectId = positiveId(req.params.id, 'id');
      await requireProject(db, projectId);
      const { mode, strategy, ...debounce } = req.body;
      // The loop first (it may be down: then nothing is stored and the caller retries), then the record.
      await requireLoops(deps).updateSettings(projectId, { ...debounce, ...(mode ? { mode } : {}) });
      await saveProjectSettings(db, projectId, { mode, strategy, debounce: Object.keys(debounce).length ? debounce : undefined });
      const [stored, stored2] = await Promise.all([getProjectSettings(db, projectId), getProjectStrategy(db, projectId)]);
      return { mode: stored.mode ?? 'continuous', strategy: stored2 ?? DEFAULT_STRATEGY, ...stored };
    },
  );

  r.get(
    '/api/projects/:id/next-tasks',
    {
      schema: {
        params: ProjectParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'an integer from 1 to 1000' })),
          strategy: Type.Optional(Strategy),
        }),
        response: { 200: Type.Object({ project: Type.Integer(), model_version: Nullable(Type.String()), strategy: Type.String(), tasks: Type.Array(NextTaskReply) }), ...errorReplies },
      },
    },
    async (req) => {
      const projectId = positiveId(req.params.id, 'id');
      const limit = req.query.limit === undefined ? 10 : Number(req.query.limit);
      if (limit < 1 || limit > 1000) throw new HttpError(400, 'limit: must be an integer from 1 to 1000');
      const { auditShare } = deps.sampling;
      // Three independent reads: in parallel, one round trip of latency instead of three.
      const [stored, version, served] = await Promise.all([
        getProjectStrategy(db, projectId) as Promise<SamplingStrategy | null>,
        champions.version(projectId),
        labelledCounts(db, projectId, auditShare),
      ]);
      const strategy = req.query.strategy ?? stored ?? deps.sampling.defaultStrategy;
      // Random needs no model: the baseline stays random from the first label (no cold start).
      if (!version && strategy !== 'random') {
        // Before any model: representative, diverse tasks (k-means on a sample's TF-IDF), with the audit stream interleaved.
        const queues = await unlabelledQueues(db, projectId, null, auditShare, 't.id', limit);
        const strategyTasks = await coldStartOrder(db, coldStarts, projectId, limit, auditShare);
        return { project: projectId, model_version: null, strategy: 'cold_start', tasks: interleave(strategyTasks, queues.audit, auditShare, limit, served) };
      }
      const queues = await unlabelledQueues(db, projectId, version, auditShare, ORDER_SQL[strategy], limit);
      return { project: projectId, model_version: version, strategy, tasks: interleave(queues.strategy, queues.audit, auditShare, limit, served) };
    },
  );
}
