/**
 * Label Studio's webhooks: validated, normalised and committed to the outbox before the 200
 * (Label Studio sends each webhook once, with a 1 s timeout, and never retries). Never trains.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseWebhook, WEBHOOK_BODY_SCHEMA } from '../../labelstudio/webhooks.js';
import type { EventIntake } from '../eventIntake.js';
import { HttpError } from '../errors.js';
import { errorReplies } from '../schemas.js';

export interface WebhookDeps {
  intake: EventIntake;
  webhookBodyLimit: number;
}

const Reply = Type.Object({
  status: Type.Union([Type.Literal('recorded'), Type.Literal('duplicate'), Type.Literal('ignored')]),
  action: Type.String(),
  project: Type.Optional(Type.Integer()),
});

export async function webhookRoutes(app: FastifyInstance, deps: WebhookDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post(
    '/webhook',
    {
      config: { auth: 'webhook' },
      bodyLimit: deps.webhookBodyLimit,
      schema: { body: WEBHOOK_BODY_SCHEMA, response: { 200: Reply, ...errorReplies } },
    },
    async (req) => {
      const parsed = parseWebhook(req.body);
      if (parsed.ignored) return { status: 'ignored' as const, action: parsed.action.slice(0, 100) };
      const outcome = await deps.intake.record(parsed.event);
      if (outcome.status === 'conflict') throw new HttpError(409, `${parsed.event.action}: ${outcome.message}; event refused (task and annotation ids are unique per Label Studio instance)`);
      return { status: outcome.status, action: parsed.event.action, project: parsed.event.projectId };
    },
  );
}
