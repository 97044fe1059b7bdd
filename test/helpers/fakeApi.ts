/**
 * A real local HTTP server that answers what a test tells it to, for unit tests of the CLI's
 * error handling: replies the real API gives only when something is wrong (401 and 403, a 503
 * while Temporal is down, a 500, a route an older API lacks, a reply that is not JSON, no answer
 * at all). What the CLI shows of the real replies is tested against the real API
 * (test/integration/cli.integration.test.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { parsePortRange } from '../../infra/support.js';

export interface FakeReply {
  status?: number;
  body?: unknown;
  /** Sent as is instead of JSON. */
  raw?: string;
  headers?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type FakeHandler = (req: RecordedRequest) => FakeReply | Promise<FakeReply>;

export interface FakeApi {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** `on('GET /api/projects/1/status', …)`: the reply to that method and path (query ignored). */
  on(route: string, reply: FakeReply | FakeHandler): void;
  reset(): void;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1: on a port inside TEST_PORT_RANGE when set (retrying a taken one), else one the OS picks. */
export async function listenInRange(server: Server): Promise<number> {
  const range = parsePortRange(process.env.TEST_PORT_RANGE);
  for (let attempt = 0; ; attempt++) {
    const port = range ? range.min + Math.floor(Math.random() * (range.max - range.min + 1)) : 0;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as { port: number }).port;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 50) throw err;
    }
  }
}

export async function startFakeApi(): Promise<FakeApi> {
  const routes = new Map<string, FakeReply | FakeHandler>();
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const recorded: RecordedRequest = { method: req.method!, url: req.url!, headers: req.headers, body: text ? JSON.parse(text) : undefined };
    requests.push(recorded);
    const key = `${req.method} ${req.url!.split('?')[0]}`;
    const route = routes.get(key);
    const reply: FakeReply = route === undefined ? { status: 404, body: { error: `no route ${key}` } } : typeof route === 'function' ? await route(recorded) : route;
    const status = reply.status ?? 200;
    if (reply.raw !== undefined) {
      res.writeHead(status, reply.headers ?? { 'content-type': 'text/plain' }).end(reply.raw);
    } else if (reply.body === undefined) {
      res.writeHead(status, reply.headers ?? {}).end();
    } else {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers }).end(JSON.stringify(reply.body));
    }
  });
  const port = await listenInRange(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    on: (route, reply) => void routes.set(route, reply),
    reset() {
      routes.clear();
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
