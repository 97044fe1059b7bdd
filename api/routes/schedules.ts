/** Per-project Temporal Schedules of batch rounds: create, list, pause, resume, trigger now, delete. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { positiveId } from '../../labelstudio/webhooks.js';
import { HttpError } from '../errors.js';
import { errorReplies, IdString, ProjectParams, ScheduleReply } from '../schemas.js';
import { requireLoops, requireProject, type ProjectApiDeps } from './common.js';

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,39}$', description: 'a schedule id (lower-case letters, digits, - and _; at most 40)' });
const ScheduleParams = Type.Object({ id: IdString, scheduleId: Name });
/** Temporal's duration strings as the SDK parses them (ms library): "90s", "30m", "1h", "1d". */
const Duration = (what: string) => Type.String({ pattern: '^[0-9]{1,6}(ms|s|m|h|d)$', description: `a duration for ${what} such as 30m, 1h or 1d` });
const Note = Type.Object({ note: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });

/** Cron: five fields of digits, *, /, -, , (Temporal also accepts names; this is the common form). */
const CRON = /^([0-9*/,-]+ ){4}[0-9*/,-]+$/;

export async function scheduleRoutes(app: FastifyInstance, deps: ProjectApiDeps): Promise<void> {
  const { db } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/api/projects/:id/schedules',
    { schema: { params: ProjectParams, response: { 200: Type.Object({ project: Type.Integer(), schedules: Type.Array(ScheduleReply) }), ...errorReplies } } },
    async (req) => {
      const projectId = positiveId(req.params.id, 'id');
      return { project: projectId, schedules: await requireLoops(deps).listSchedules(projectId) };
    },
  );

  r.post(
    '/api/projects/:id/schedules',
    {
      bodyLimit: 16 * 1024,
      schema: {
        params: ProjectParams,
        body: Type.Object(
          {
            id: Type.Optional(Name),
            every: Type.Optional(Duration('the interval')),
            cron: Type.Optional(Type.String({ maxLength: 100, description: 'a cron expression of five fields' })),
            timezone: Type.Optional(Type.String({ pattern: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$', maxLength: 64, description: 'an IANA time zone such as Europe/Paris' })),
            jitter: Type.Optional(Duration('the jitter')),
            note: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: ScheduleReply, ...errorReplies },
      },
    },
    async (req, reply) => {
      const projectId = positiveId(req.params.id, 'id');
      const { id = 'batch', every, cron, timezone, jitter, note } = req.body;
      if (!!every === !!cron) throw new HttpError(400, 'every: give exactly one of every (an interval) and cron');
      if (cron && !CRON.test(cron.trim())) throw new HttpError(400, 'cron: must be five fields such as "0 18 * * 1-5"');
      if (timezone) {
        try {
          new Intl.DateTimeFormat('en', { timeZone: timezone });
        } catch {
          throw new HttpError(400, `timezone: unknown time zone "${timezone}"`);
        }
      }
      await requireProject(db, projectId);
      const created = await requireLoops(deps).createSchedule(projectId, id, { every, cron: cron?.trim(), timezone, jitter }, note);
      void reply.status(201);
      return created;
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    r.post(
      `/api/projects/:id/schedules/:scheduleId/${action}`,
      { bodyLimit: 16 * 1024, schema: { params: ScheduleParams, body: Type.Optional(Note), response: { 200: ScheduleReply, ...errorReplies } } },
      async (req) => {
        const projectId = positiveId(req.params.id, 'id');
        const loops = requireLoops(deps);
        return action === 'pause'
          ? loops.pauseSchedule(projectId, req.params.scheduleId, req.body?.note)
          : loops.resumeSchedule(projectId, req.params.scheduleId, req.body?.note);
      },
    );
  }

  r.post(
    '/api/projects/:id/schedules/:scheduleId/trigger',
    { schema: { params: ScheduleParams, response: { 202: Type.Object({ status: Type.Literal('triggered') }), ...errorReplies } } },
    async (req, reply) => {
      await requireLoops(deps).triggerSchedule(positiveId(req.params.id, 'id'), req.params.scheduleId);
      void reply.status(202);
      return { status: 'triggered' as const };
    },
  );

  r.delete('/api/projects/:id/schedules/:scheduleId', { schema: { params: ScheduleParams, response: errorReplies } }, async (req, reply) => {
    await requireLoops(deps).deleteSchedule(positiveId(req.params.id, 'id'), req.params.scheduleId);
    void reply.status(204);
  });
}
