/** `GET /metrics`: Prometheus' text exposition of api/metrics.ts, behind the API's own auth. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { ApiMetrics } from '../metrics.js';
import { errorReplies } from '../schemas.js';

export async function metricsRoutes(app: FastifyInstance, deps: { metrics: ApiMetrics }): Promise<void> {
  app.get(
    '/metrics',
    { schema: { response: { 200: Type.String({ description: 'Prometheus text format 0.0.4' }), ...errorReplies } } },
    async (_req, reply) => {
      const text = await deps.metrics.scrape();
      void reply.type(deps.metrics.contentType).header('cache-control', 'no-store');
      return text;
    },
  );
}
