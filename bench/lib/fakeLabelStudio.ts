/**
 * A fake Label Studio 1.23 for benchmarks: the REST calls Label Loop makes during a round, with
 * Label Studio's shapes, for projects of any size. Tasks are generated on the fly from their
 * index (text from SpamAssassin, every `labelEvery`-th task annotated), so the server's memory
 * does not grow with the project; predictions imported are counted, and which tasks hold one of
 * the project's latest pushed version is kept in a bitmap (for a push retried after a crash).
 *
 *   POST  /api/projects/:id/import/predictions      → {created: n}
 *   GET   /api/tasks/?project=&page=&page_size=&fields=all → {tasks, total}
 *   GET   /api/projects/:id/, PATCH /api/projects/:id/
 *   GET   /api/dm/views/?project=, POST /api/dm/views/, PUT /api/dm/views/:id/
 *   GET   /stats                                    → imported predictions per project (the benchmark's check)
 *
 * Run it in its own process (`npx tsx bench/lib/fakeLabelStudio.ts --port N --projects 1:100000`),
 * so its CPU and memory are not charged to the step being measured.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadSpamAssassin } from '../../model/spamAssassin.js';

export const SPAM_CONFIG =
  '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="spam"/><Choice value="ham"/></Choices></View>';

export interface FakeProject {
  id: number;
  tasks: number;
  /** Every labelEvery-th task has one annotation (default 50: 2%). */
  labelEvery?: number;
  /** First task id; ids are firstTaskId … firstTaskId + tasks - 1. */
  firstTaskId?: number;
  /** Texts cut to this many characters (default: whole e-mails, ~3 kB on average). */
  textChars?: number;
}

interface State extends Required<FakeProject> {
  modelVersion: string;
  imported: number;
  /** Task index → has a prediction of `modelVersion`. */
  predicted: Uint8Array;
  views: { id: number; data: Record<string, unknown> }[];
  sampling: string;
}

export function startFakeLabelStudio(port: number, projects: FakeProject[]): Promise<{ close(): Promise<void> }> {
  const emails = loadSpamAssassin();
  const state = new Map<number, State>();
  for (const p of projects) {
    state.set(p.id, { labelEvery: 50, firstTaskId: p.id * 10_000_000, textChars: Infinity, ...p, modelVersion: '', imported: 0, predicted: new Uint8Array(p.tasks), views: [], sampling: 'Sequential sampling' });
  }
  let nextViewId = 1;
  const task = (s: State, i: number) => {
    const email = emails[(i * 7919) % emails.length];
    const id = s.firstTaskId + i;
    return {
      id,
      data: { text: Number.isFinite(s.textChars) ? email.text.slice(0, s.textChars) : email.text },
      annotations:
        i % s.labelEvery === 0
          ? [{ id, result: [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [email.label] } }], was_cancelled: false, updated_at: '2025-01-01T00:00:00Z' }]
          : [],
      predictions: s.predicted[i] ? [{ id, model_version: s.modelVersion, score: 0.5 }] : [],
    };
  };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  };
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = await readBody(req);
      let m: RegExpMatchArray | null;
      if (req.method === 'GET' && url.pathname === '/stats') {
        return send(res, 200, Object.fromEntries([...state.values()].map((s) => [s.id, { imported: s.imported, modelVersion: s.modelVersion }])));
      }
      if (req.method === 'GET' && url.pathname === '/api/tasks/') {
        const s = state.get(Number(url.searchParams.get('project')));
        if (!s) return send(res, 404, { detail: 'Not found.' });
        const page = Number(url.searchParams.get('page') ?? 1);
        const size = Number(url.searchParams.get('page_size') ?? 100);
        const from = (page - 1) * size;
        if (from >= s.tasks && page > 1) return send(res, 404, { detail: 'Invalid page.' });
        const tasks = [];
        for (let i = from; i < Math.min(from + size, s.tasks); i++) tasks.push(task(s, i));
        return send(res, 200, { tasks, total: s.tasks });
      }
      if ((m = url.pathname.match(/^\/api\/projects\/(\d+)\/import\/predictions$/)) && req.method === 'POST') {
        const s = state.get(Number(m[1]));
        if (!s) return send(res, 404, { detail: 'Not found.' });
        for (const p of body as { task: number; model_version: string }[]) {
          const i = p.task - s.firstTaskId;
          if (i < 0 || i >= s.tasks) return send(res, 400, { detail: `task ${p.task} does not exist` });
          if (p.model_version !== s.modelVersion) {
            s.modelVersion = p.model_version;
            s.predicted.fill(0);
          }
          s.predicted[i] = 1;
        }
        s.imported += (body as unknown[]).length;
        return send(res, 201, { created: (body as unknown[]).length });
      }
      if ((m = url.pathname.match(/^\/api\/projects\/(\d+)\/$/))) {
        const s = state.get(Number(m[1]));
        if (!s) return send(res, 404, { detail: 'Not found.' });
        if (req.method === 'PATCH') {
          if (body?.model_version !== undefined) s.modelVersion = body.model_version;
          if (body?.sampling !== undefined) s.sampling = body.sampling;
        }
        return send(res, 200, { id: s.id, title: `bench ${s.id}`, label_config: SPAM_CONFIG, model_version: s.modelVersion, sampling: s.sampling });
      }
      if (url.pathname === '/api/dm/views/') {
        const s = state.get(Number(url.searchParams.get('project') ?? body?.project));
        if (!s) return send(res, 404, { detail: 'Not found.' });
        if (req.method === 'POST') {
          const view = { id: nextViewId++, data: body.data };
          s.views.push(view);
          return send(res, 201, view);
        }
        return send(res, 200, s.views);
      }
      if ((m = url.pathname.match(/^\/api\/dm\/views\/(\d+)\/$/)) && req.method === 'PUT') return send(res, 200, { id: Number(m[1]), data: body.data });
      send(res, 404, { detail: 'Not found.' });
    } catch (err) {
      send(res, 500, { detail: (err as Error).message });
    }
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => resolve({ close: () => new Promise<void>((r) => server.close(() => r())) })),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, projects: { type: 'string' }, 'label-every': { type: 'string', default: '50' }, 'text-chars': { type: 'string' } } });
  const projects = values.projects!.split(',').map((spec) => {
    const [id, tasks] = spec.split(':').map(Number);
    return { id, tasks, labelEvery: Number(values['label-every']), textChars: values['text-chars'] ? Number(values['text-chars']) : Infinity };
  });
  await startFakeLabelStudio(Number(values.port), projects);
  console.log(`fake Label Studio on http://127.0.0.1:${values.port}`);
  process.on('SIGTERM', () => process.exit(0));
}
