/** Rounds: list them (failed ones with their root cause), show one, request one, replay a failed one, and the learning curve. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { positiveId } from '../../labelstudio/webhooks.js';
import { curveRows, getRound, listRounds } from '../../store/index.js';
import { HttpError } from '../errors.js';
import { errorReplies, IdString, ProjectParams, RoundReply } from '../schemas.js';
import { requireLoops, requireProject, type ProjectApiDeps } from './common.js';

const Outcome = Type.Union(
  ['running', 'promoted', 'rejected', 'failed', 'replayed'].map((o) => Type.Literal(o)),
  { description: 'one of running, promoted, rejected, failed, replayed' },
);
const RoundParams = Type.Object({ id: IdString, round: IdString });
const RoundRequested = Type.Object({ status: Type.Literal('requested'), project: Type.Integer() });
const ReplayRequested = Type.Object({ status: Type.Literal('requested'), project: Type.Integer(), replayOf: Type.Integer(), fresh: Type.Boolean() });
const CurvePointReply = Type.Object({
  round: Type.Integer(),
  version: Type.String(),
  labels: Type.Integer(),
  outcome: Type.String(),
  value: Type.Number(),
  low: Type.Number(),
  high: Type.Number(),
  n: Type.Integer(),
  /**
   * 'audit': cross-validated on the audit items (tasks served at random: unbiased, comparable
   * from round to round); 'cv-all': cross-validated on every label (too few audit items yet;
   * biased towards the hard tasks the strategy picked); 'held-out': a model evaluated before
   * the audit stream existed, on its snapshot's held-out split.
   */
  source: Type.String(),
});

/** 202 of `POST /api/projects/:id/rounds`. */
export type RoundRequestedReply = Static<typeof RoundRequested>;
/** 202 of `POST /api/projects/:id/rounds/:round/replay`. */
export type ReplayRequestedReply = Static<typeof ReplayRequested>;
/** One point of `GET /api/projects/:id/learning-curve`. */
export type CurvePoint = Static<typeof CurvePointReply>;

/** Wilson score interval of a proportion (z = 1.96: 95 %); honest at small n, unlike p ± 1.96·se. */
export function wilson(p: number, n: number, z = 1.96): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export async function roundRoutes(app: FastifyInstance, deps: ProjectApiDeps): Promise<void> {
  const { db } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/api/projects/:id/rounds',
    {
      schema: {
        params: ProjectParams,
        querystring: Type.Object({
          outcome: Type.Optional(Outcome),
          limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'an integer from 1 to 1000' })),
        }),
        response: { 200: Type.Object({ project: Type.Integer(), rounds: Type.Array(RoundReply) }), ...errorReplies },
      },
    },
    async (req) => {
      const projectId = positiveId(req.params.id, 'id');
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (limit < 1 || limit > 1000) throw new HttpError(400, 'limit: must be an integer from 1 to 1000');
      return { project: projectId, rounds: await listRounds(db, projectId, { outcome: req.query.outcome, limit }) };
    },
  );

  r.get('/api/projects/:id/rounds/:round', { schema: { params: RoundParams, response: { 200: RoundReply, ...errorReplies } } }, async (req) => {
    const projectId = positiveId(req.params.id, 'id');
    const round = positiveId(req.params.round, 'round');
    const row = await getRound(db, projectId, round);
    if (!row) throw new HttpError(404, `project ${projectId} has no round ${round}`);
    return row;
  });

  r.post(
    '/api/projects/:id/rounds',
    {
      bodyLimit: 64 * 1024,
      schema: {
        params: ProjectParams,
        body: Type.Optional(
          Type.Union(
            [
              Type.Null(),
              Type.Object(
                {
                  reason: Type.Optional(Type.String({ maxLength: 200 })),
                  overrides: Type.Optional(
                    Type.Object(
                      {
                        epochs: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
                        tolerance: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
                        C: Type.Optional(Type.Number({ minimum: 1e-6, maximum: 1e6 })),
                        seed: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
                      },
                      { additionalProperties: false },
                    ),
                  ),
                },
                { additionalProperties: false },
              ),
            ],
            { description: 'an object with optional reason and overrides' },
          ),
        ),
        response: { 202: RoundRequested, ...errorReplies },
      },
    },
    async (req, reply) => {
      const projectId = positiveId(req.params.id, 'id');
      await requireProject(db, projectId);
      const body = req.body ?? {};
      await requireLoops(deps).requestRound(projectId, body.reason ?? 'api', body.overrides);
      void reply.status(202);
      return { status: 'requested' as const, project: projectId };
    },
  );

  r.post(
    '/api/projects/:id/rounds/:round/replay',
    {
      bodyLimit: 16 * 1024,
      schema: {
        params: RoundParams,
        body: Type.Optional(Type.Object({ fresh: Type.Optional(Type.Boolean()), reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false })),
        response: { 202: ReplayRequested, ...errorReplies },
      },
    },
    async (req, reply) => {
      const projectId = positiveId(req.params.id, 'id');
      const round = positiveId(req.params.round, 'round');
      const row = await getRound(db, projectId, round);
      if (!row) throw new HttpError(404, `project ${projectId} has no round ${round}`);
      if (row.outcome !== 'failed') throw new HttpError(409, `round ${round} ${row.outcome === 'running' ? 'is running' : `did not fail (${row.outcome})`}: only a failed round can be replayed`);
      const fresh = req.body?.fresh ?? false;
      await requireLoops(deps).replayRound(projectId, { round, fresh, reason: req.body?.reason });
      void reply.status(202);
      return { status: 'requested' as const, project: projectId, replayOf: round, fresh };
    },
  );

  r.get(
    '/api/projects/:id/learning-curve',
    {
      schema: {
        params: ProjectParams,
        querystring: Type.Object({ metric: Type.Optional(Type.Union([Type.Literal('accuracy'), Type.Literal('macroF1')], { description: 'accuracy or macroF1' })) }),
        response: {
          200: Type.Object({
            project: Type.Integer(),
            metric: Type.String(),
            points: Type.Array(CurvePointReply),
          }),
          ...errorReplies,
        },
      },
    },
    async (req) => {
      const projectId = positiveId(req.params.id, 'id');
      const metric = req.query.metric ?? 'accuracy';
      const points = (await curveRows(db, projectId))
        .filter((row) => row.metrics || row.estimate)
        .flatMap((row) => {
          const base = { round: row.round, version: row.version, labels: row.trainCount, outcome: row.outcome };
          if (row.estimate) {
            if (row.estimate.n === 0) return [];
            const e = metric === 'accuracy' ? row.estimate.accuracy : row.estimate.macroF1;
            return [{ ...base, value: e.value, low: e.low, high: e.high, n: row.estimate.n, source: row.estimate.source }];
          }
          const value = metric === 'accuracy' ? row.metrics!.accuracy : row.metrics!.macroF1;
          return [{ ...base, value, ...wilson(value, row.metrics!.n), n: row.metrics!.n, source: 'held-out' }];
        });
      return { project: projectId, metric, points };
    },
  );
}
