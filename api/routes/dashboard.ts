/**
 * The operator's dashboard: one HTML page, its script and style (api/dashboard/) and uPlot from
 * node_modules, all served from memory by this process (the machines it runs on may be offline:
 * nothing loads from a CDN). The page reads the project API (/api/...) from the browser and
 * polls it; it needs no server-side rendering beyond the Temporal Web UI's address.
 *
 * Assets are served under content-hashed names with a year's `immutable` caching, so an upgrade
 * is picked up at once and a reload costs one revalidated HTML request. Everything is behind the
 * same auth as /api (the auth plugin's default); `GET /` is public and only points the way.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { HttpError } from '../errors.js';
import { errorReplies } from '../schemas.js';

export interface DashboardOptions {
  /** Temporal Web UI base URL (no trailing slash); undefined: the page shows no Temporal links. */
  temporalUiUrl?: string;
  /** Temporal namespace, for the Web UI links. */
  namespace: string;
  /** Poll interval of the page (ms). */
  refreshMs?: number;
}

const DASHBOARD_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dashboard');
const require = createRequire(import.meta.url);

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Files the page loads, by the name it uses for them; `hashed` is the name it is served under. */
const SOURCES = [
  { name: 'app.js', file: path.join(DASHBOARD_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  { name: 'style.css', file: path.join(DASHBOARD_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  { name: 'uPlot.js', file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  { name: 'uPlot.css', file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
];

const digest = (body: Buffer | string) => createHash('sha256').update(body).digest('base64url').slice(0, 16);

/**
 * The page allows only its own origin: scripts and styles from these files (uPlot sets element
 * styles through the CSSOM, which `style-src` does not restrict), fetches to this API.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** JSON inside a `<script type="application/json">` block: `<` escaped so no text can close it. */
const inlineJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function send(req: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string): FastifyReply | Buffer {
  void reply.header('etag', asset.etag).header('cache-control', cacheControl).header('x-content-type-options', 'nosniff');
  if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  void reply.type(asset.type);
  return asset.body;
}

export async function dashboardRoutes(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const assets = new Map<string, Asset>();
  const hashedName = new Map<string, string>();
  for (const s of SOURCES) {
    const body = await readFile(s.file);
    const hash = digest(body);
    const dot = s.name.lastIndexOf('.');
    const name = `${s.name.slice(0, dot)}.${hash}${s.name.slice(dot)}`;
    assets.set(name, { body, type: s.type, etag: `"${hash}"` });
    hashedName.set(s.name, name);
  }
  const config = { temporalUiUrl: opts.temporalUiUrl ?? null, namespace: opts.namespace, refreshMs: opts.refreshMs ?? 5_000 };
  const template = await readFile(path.join(DASHBOARD_DIR, 'index.html'), 'utf8');
  const html = template
    .replace(/\{\{asset:([\w.]+)\}\}/g, (_m, name: string) => {
      const hashed = hashedName.get(name);
      if (!hashed) throw new Error(`api/dashboard/index.html names an unknown asset ${name}`);
      return `/dashboard/assets/${hashed}`;
    })
    .replace('{{config}}', inlineJson(config));
  const page: Asset = { body: Buffer.from(html), type: 'text/html; charset=utf-8', etag: `"${digest(html)}"` };

  app.get('/', { config: { auth: 'public' }, schema: { response: { 200: Type.Object({ name: Type.String(), links: Type.Record(Type.String(), Type.String()) }) } } }, async (req, reply) => {
    // Browsers go to the dashboard; programs get a small index of where things are.
    if ((req.headers.accept ?? '').includes('text/html')) return reply.redirect('/dashboard', 302);
    return {
      name: 'label-loop',
      links: { dashboard: '/dashboard', metrics: '/metrics', health: '/health', projects: '/api/projects' },
    };
  });

  app.get('/dashboard', async (req, reply) => {
    void reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('referrer-policy', 'no-referrer');
    // Revalidated on every load (cheap: a 304), so a new release's asset names are seen at once.
    return send(req, reply, page, 'private, no-cache');
  });
  app.get('/dashboard/', async (_req, reply) => reply.redirect('/dashboard', 301));

  app.get(
    '/dashboard/assets/:file',
    { schema: { params: Type.Object({ file: Type.String({ maxLength: 100 }) }), response: errorReplies } },
    async (req, reply) => {
      const asset = assets.get((req.params as { file: string }).file);
      if (!asset) throw new HttpError(404, 'file: no such dashboard asset');
      return send(req, reply, asset, 'private, max-age=31536000, immutable');
    },
  );
}
