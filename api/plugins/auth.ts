/**
 * Who may call what, checked in `onRequest`: before the body is read or parsed, so an
 * unauthenticated request costs nothing and gets 401 whatever it carries.
 *
 * Routes say which check they need in their config: `auth: 'backend'` (HTTP Basic, Label
 * Studio's ML-backend connection option; the default), `'webhook'` (the shared secret header,
 * or Basic: Label Studio sends START_TRAINING through the ML-backend connection with Basic auth
 * only) or `'public'` (/health).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../errors.js';

export interface ApiSecurity {
  /** HTTP Basic credentials for the ML-backend routes (Label Studio's "Basic auth" connection option). */
  basicAuth?: { user: string; password: string };
  /** Shared secret expected in `webhookSecretHeader` on /webhook. */
  webhookSecret?: string;
  webhookSecretHeader: string;
}

export type AuthKind = 'backend' | 'webhook' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthKind;
  }
}

/**
 * Constant-time comparison that leaks neither the content nor the length of the secret: both
 * sides are hashed to 32 bytes first, so no early return depends on the given value's length.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function basicAuthOk(req: FastifyRequest, creds: { user: string; password: string }): boolean {
  const header = req.headers.authorization ?? '';
  const space = header.indexOf(' ');
  const scheme = space > 0 ? header.slice(0, space).toLowerCase() : '';
  // Base64 of a few hundred bytes at most: a longer header is refused without decoding it.
  const encoded = space > 0 && header.length < 2_048 ? header.slice(space + 1).trim() : '';
  const decoded = scheme === 'basic' && encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
  const sep = decoded.indexOf(':');
  // Both halves are always compared, so the time taken does not say which one was wrong.
  const userOk = sameSecret(sep > 0 ? decoded.slice(0, sep) : '', creds.user);
  const passwordOk = sameSecret(sep > 0 ? decoded.slice(sep + 1) : '', creds.password);
  return sep > 0 && userOk && passwordOk;
}

function refuse(reply: FastifyReply, message: string, basic: boolean): never {
  if (basic) void reply.header('www-authenticate', 'Basic realm="label-loop"');
  // The body (maybe megabytes) is never read: close the connection rather than drain it.
  void reply.header('connection', 'close');
  throw new HttpError(401, message);
}

export const authPlugin = fp(async (app: FastifyInstance, security: ApiSecurity) => {
  const secretHeader = security.webhookSecretHeader.toLowerCase();
  app.addHook('onRequest', async (req, reply) => {
    const kind: AuthKind = req.routeOptions.config?.auth ?? 'backend';
    if (kind === 'public' || req.routeOptions.url === undefined) return; // 404s reveal nothing
    if (kind === 'webhook') {
      if (!security.webhookSecret) return;
      const given = req.headers[secretHeader];
      if (typeof given === 'string' && sameSecret(given, security.webhookSecret)) return;
      if (security.basicAuth && req.headers.authorization && basicAuthOk(req, security.basicAuth)) return;
      refuse(reply, `${security.webhookSecretHeader}: webhook secret header missing or wrong`, false);
    }
    if (security.basicAuth && !basicAuthOk(req, security.basicAuth)) {
      refuse(reply, 'authorization: HTTP Basic credentials missing or wrong', true);
    }
  });
});
