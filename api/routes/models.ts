/** Model versions: list them with metrics and decisions, promote one, roll back, and the history of champions. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { positiveId } from '../../labelstudio/webhooks.js';
import { championHistory, getChampionVersion, getModel, listModels } from '../../store/index.js';
import { HttpError } from '../errors.js';
import { errorReplies, ModelReply, Nullable, ProjectParams, Reason } from '../schemas.js';
import { actorOf, requireLoops, requireProject, type ProjectApiDeps } from './common.js';

const Requested = Type.Object({ status: Type.Literal('requested'), project: Type.Integer(), version: Nullable(Type.String()) });
/** 202 of a promotion or a rollback: `version` is the champion it asks for. */
export type ChampionRequestedReply = Static<typeof Requested>;

export async function modelRoutes(app: FastifyInstance, deps: ProjectApiDeps): Promise<void> {
  const { db } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/api/projects/:id/models',
    { schema: { params: ProjectParams, response: { 200: Type.Object({ project: Type.Integer(), champion: Nullable(Type.String()), models: Type.Array(ModelReply) }), ...errorReplies } } },
    async (req) => {
      const projectId = positiveId(req.params.id, 'id');
      const [models, champion] = await Promise.all([listModels(db, projectId), getChampionVersion(db, projectId)]);
      return { project: projectId, champion, models };
    },
  );

  r.get(
    '/api/projects/:id/champions',
    {
      schema: {
        params: ProjectParams,
        response: {
          200: Type.Object({
            project: Type.Integer(),
            history: Type.Array(
              Type.Object({
                version: Type.String(),
                previousVersion: Nullable(Type.String()),
                action: Type.String(),
                round: Nullable(Type.Integer()),
                actor: Nullable(Type.String()),
                reason: Type.String(),
                at: Type.String(),
              }),
            ),
          }),
          ...errorReplies,
        },
      },
    },
    async (req) => {
      const projectId = positiveId(req.params.id, 'id');
      return { project: projectId, history: await championHistory(db, projectId) };
    },
  );

  r.post(
    '/api/projects/:id/models/:version/promote',
    {
      bodyLimit: 16 * 1024,
      schema: {
        params: Type.Object({ id: ProjectParams.properties.id, version: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'a model version' }) }),
        body: Type.Object({ reason: Reason }, { additionalProperties: false }),
        response: { 202: Requested, ...errorReplies },
      },
    },
    async (req, reply) => {
      const projectId = positiveId(req.params.id, 'id');
      await requireProject(db, projectId);
      const model = await getModel(db, projectId, req.params.version);
      if (!model?.hasWeights) throw new HttpError(404, `version: project ${projectId} has no trained model ${req.params.version}`);
      await requireLoops(deps).changeChampion(projectId, { action: 'promote', version: model.version, actor: actorOf(req), reason: req.body.reason });
      void reply.status(202);
      return { status: 'requested' as const, project: projectId, version: model.version };
    },
  );

  r.post(
    '/api/projects/:id/rollback',
    {
      bodyLimit: 16 * 1024,
      schema: { params: ProjectParams, body: Type.Object({ reason: Reason }, { additionalProperties: false }), response: { 202: Requested, ...errorReplies } },
    },
    async (req, reply) => {
      const projectId = positiveId(req.params.id, 'id');
      await requireProject(db, projectId);
      const history = await championHistory(db, projectId, 1);
      const previous = history[0]?.previousVersion ?? null;
      if (!previous) throw new HttpError(409, `project ${projectId} has no previous champion to roll back to`);
      await requireLoops(deps).changeChampion(projectId, { action: 'rollback', actor: actorOf(req), reason: req.body.reason });
      void reply.status(202);
      return { status: 'requested' as const, project: projectId, version: previous };
    },
  );
}
