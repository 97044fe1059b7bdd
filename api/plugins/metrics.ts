/**
 * Instrumentation of the ML-backend and webhook routes from the outside: hooks read what a
 * request was and how it ended, so the routes and the intake carry no metrics code.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { actionLabel, webhookResult, type ApiMetrics } from '../metrics.js';

/** What /webhook answered with a 200 (`status`, `action`), kept until the response is sent. */
const webhookReplies = new WeakMap<FastifyRequest, { status?: unknown; action?: unknown }>();

export const metricsPlugin = fp(async (app: FastifyInstance, metrics: ApiMetrics) => {
  app.addHook('preSerialization', async (req, reply, payload) => {
    if (req.routeOptions.url === '/webhook' && reply.statusCode === 200 && payload && typeof payload === 'object') {
      webhookReplies.set(req, payload as { status?: unknown; action?: unknown });
    }
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url;
    const seconds = reply.elapsedTime / 1000;
    if (route === '/webhook') {
      const answered = webhookReplies.get(req);
      // A refused request's body may be unparsed (401) or malformed: actionLabel bounds it.
      const action = actionLabel(answered?.action ?? (req.body as { action?: unknown } | undefined)?.action);
      const result = webhookResult(reply.statusCode, answered?.status);
      metrics.webhookEvents.inc({ action, result });
      metrics.webhookAckDuration.observe({ result }, seconds);
    } else if (route === '/predict') {
      metrics.predictDuration.observe({ code: String(reply.statusCode) }, seconds);
      const tasks = (req.body as { tasks?: unknown } | undefined)?.tasks;
      if (reply.statusCode === 200 && Array.isArray(tasks)) metrics.predictBatch.observe(tasks.length);
    }
  });
});
