import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TEMPORAL_SERVER_VERSION } from '../../infra/temporalServerBuild.js';
import { CONFIG_VARIABLES, loadConfig, REPO_ROOT } from '../../worker/config.js';
import { SEARCH_ATTRIBUTES } from '../../contract/index.js';

// No Docker engine on our machines: docker-compose.yml and the Dockerfile are checked statically,
// against the code and against each other. What this cannot show is listed in the README.
const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true });
const services = compose.services as Record<string, Service>;
const dockerfile = read('Dockerfile');
const pkg = JSON.parse(read('package.json')) as { version: string };

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  command?: string[] | string;
  entrypoint?: string[];
  restart?: string;
  container_name?: string;
  volumes?: string[];
}

/** `KEY=value` lines of .env.example, as `docker compose` reads .env. */
const envExample = Object.fromEntries(
  read('.env.example')
    .split('\n')
    .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}, and $$ for a literal $. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (match, name?: string, op?: string, arg?: string) => {
    if (match === '$$') return '$';
    const v = env[name!];
    if (v !== undefined && v !== '') return v;
    if (op === '-') return arg ?? '';
    if (op === '?') throw new Error(`${name} is required: ${arg}`);
    return '';
  });
}
const envOf = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(services[name].environment ?? {}).map(([k, v]) => [k, interpolate(String(v), envExample)]));
const commandText = (service: Service) => (Array.isArray(service.command) ? service.command.join('\n') : (service.command ?? ''));

/** The worker services: one per task queue (worker/runWorker.ts). */
const WORKERS = ['worker', 'worker-compute', 'worker-io'];

describe('docker-compose.yml', () => {
  it('has PostgreSQL, a real Temporal server with its set-up jobs and UI, Label Studio, the API and workers', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'label-studio', 'postgres', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker', 'worker-compute', 'worker-io'].sort(),
    );
  });

  it('pins every image to a version (no latest, no missing tag), Temporal to the release the test tier runs', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.image, `${name} has no image`).toBeTruthy();
      const tag = service.image!.split('/').pop()!.split(':')[1];
      expect(tag, `${name}: ${service.image} has no tag`).toBeTruthy();
      expect(tag, `${name}: ${service.image}`).not.toMatch(/latest|\$\{/);
      expect(tag, `${name}: ${service.image} should name a version`).toMatch(/^\d+\.\d+/);
    }
    expect(services.temporal.image).toBe(`temporalio/server:${TEMPORAL_SERVER_VERSION}`);
    for (const job of ['temporal-schema', 'temporal-namespace']) expect(services[job].image).toMatch(new RegExp(`^temporalio/admin-tools:${TEMPORAL_SERVER_VERSION.replaceAll('.', '\\.')}-`));
    expect(services.postgres.image).toMatch(/^postgres:16\.\d+/);
    expect(services['label-studio'].image).toMatch(/^heartexlabs\/label-studio:1\.23\.\d+$/);
    expect(services.api.image).toBe(`label-loop:${pkg.version}`);
    for (const name of WORKERS) expect(services[name].image).toBe(services.api.image);
  });

  it('uses neither the dev server nor the deprecated auto-setup image', () => {
    expect(composeText).not.toMatch(/start-dev|temporalio\/auto-setup|temporalio\/temporal:/);
  });

  it('publishes only the UIs, on the loopback address unless PUBLISH_IP says otherwise', () => {
    const published = Object.entries(services).filter(([, s]) => s.ports?.length).map(([name]) => name).sort();
    expect(published).toEqual(['label-studio', 'temporal-ui']);
    for (const name of published) {
      for (const port of services[name].ports!) expect(port).toMatch(/^\$\{PUBLISH_IP:-127\.0\.0\.1\}:\d+:\d+$/);
    }
  });

  it('gives every service that others wait for as healthy a healthcheck, and one-shot jobs a bounded restart', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dep], `${name} depends on unknown ${dep}`).toBeDefined();
        expect(['service_healthy', 'service_completed_successfully'], `${name} → ${dep}`).toContain(condition);
        if (condition === 'service_healthy') {
          expect(services[dep].healthcheck?.test, `${dep} needs a healthcheck (${name} waits for it)`).toBeDefined();
          expect(services[dep].healthcheck?.disable).not.toBe(true);
        } else {
          expect(services[dep].restart, `${dep} is a one-shot job`).toMatch(/^(no|on-failure(:\d+)?)$/);
        }
      }
    }
    // The chain: schema → server → namespace → Label Loop.
    expect(services.temporal.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    for (const name of ['api', ...WORKERS]) {
      expect(services[name].depends_on).toMatchObject({
        postgres: { condition: 'service_healthy' },
        temporal: { condition: 'service_healthy' },
        'temporal-namespace': { condition: 'service_completed_successfully' },
      });
    }
    expect(services.api.healthcheck?.test?.join(' ')).toContain('/health');
  });

  it('sets up both Temporal schemas with temporal-sql-tool --plugin postgres12', () => {
    const script = commandText(services['temporal-schema']);
    expect(script).toContain('temporal-sql-tool --plugin postgres12');
    for (const [db, dir] of [['temporal', 'temporal'], ['temporal_visibility', 'visibility']]) {
      expect(script).toMatch(new RegExp(`--db ${db} create\\b`));
      expect(script).toMatch(new RegExp(`--db ${db} setup-schema -v 0\\.0`));
      expect(script).toContain(`--db ${db} update-schema -d /etc/temporal/schema/postgresql/v12/${dir}/versioned`);
    }
    const server = envOf('temporal');
    expect(server).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres', POSTGRES_USER: 'temporal', DBNAME: 'temporal', VISIBILITY_DBNAME: 'temporal_visibility' });
    expect(server.POSTGRES_PWD).toBe(envOf('temporal-schema').SQL_PASSWORD);
  });

  it('creates the namespace and exactly Label Loop\'s search attributes', () => {
    const script = commandText(services['temporal-namespace']);
    expect(script).toContain('temporal operator namespace create --namespace default');
    const pairs = [...script.matchAll(/--name (\w+) --type (\w+)/g)].map(([, name, type]) => `${name}=${type}`);
    expect(pairs.sort()).toEqual(Object.entries(SEARCH_ATTRIBUTES).map(([k, v]) => `${k}=${v}`).sort());
  });

  it.each(['api', ...WORKERS])('%s gets a configuration Label Loop accepts, using only variables it reads', (name) => {
    const env = envOf(name);
    for (const key of Object.keys(env)) expect(CONFIG_VARIABLES as readonly string[], `${key} is not read by Label Loop`).toContain(key);
    const config = loadConfig(env);
    expect(config.databaseUrl).toBe(`postgres://label_loop:${envExample.LABEL_LOOP_DB_PASSWORD}@postgres:5432/label_loop`);
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.security.basicAuth).toBeDefined();
    expect(config.security.webhookSecret).toBeTruthy();
    expect(config.labelStudio?.url).toBe('http://label-studio:8080');
  });

  it.each(WORKERS)('scales %s: no fixed name, no ports, not the API\'s healthcheck, a graceful stop', (name) => {
    expect(services[name].container_name).toBeUndefined();
    expect(services[name].ports).toBeUndefined();
    expect(services[name].healthcheck).toEqual({ disable: true });
    expect(commandText(services[name])).toMatch(/cli\/main\.ts\nworker$/);
    expect(envOf('api')).toMatchObject({ LABEL_LOOP_HOST: '0.0.0.0', LABEL_LOOP_PORT: '9090' });
  });

  it('dedicates one worker service to each task queue, and together they poll all three', () => {
    const roles = Object.fromEntries(WORKERS.map((name) => [name, loadConfig(envOf(name)).worker.queues]));
    expect(roles).toEqual({ worker: ['workflows'], 'worker-compute': ['compute'], 'worker-io': ['io'] });
    expect(loadConfig(envOf('worker-compute')).worker.computeConcurrency).toBe(1);
    expect(loadConfig(envOf('api')).worker.queues).toEqual(['workflows', 'compute', 'io']); // the default: a lone worker runs everything
  });

  it('configures Label Studio for a backend on the private network, with the token Label Loop uses', () => {
    const ls = envOf('label-studio');
    expect(ls.LABEL_STUDIO_ML_BLOCK_LOCAL_IP).toBe('false');
    expect(ls.LABEL_STUDIO_SSRF_PROTECTION_ENABLED).toBe('false');
    expect(ls.LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN).toBe('true');
    expect(ls.LABEL_STUDIO_SENTRY_DSN).toBe('');
    expect(ls.LABEL_STUDIO_FRONTEND_SENTRY_DSN).toBe('');
    expect(ls.LABEL_STUDIO_USER_TOKEN).toBe(envOf('api').LABEL_STUDIO_API_KEY);
    expect(ls).toMatchObject({ DJANGO_DB: 'default', POSTGRE_HOST: 'postgres', POSTGRE_NAME: 'label_studio', POSTGRE_USER: 'label_studio' });
  });

  it('takes every secret from .env (none written into the file) and documents each in .env.example', () => {
    const referenced = new Set([...composeText.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(:[-?][^}]*)?\}/g)].map((m) => m[1]));
    for (const name of referenced) expect(envExample, `${name} is missing from .env.example`).toHaveProperty(name);
    for (const name of Object.keys(envExample)) expect(referenced, `.env.example has unused ${name}`).toContain(name);
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/(PASSWORD|PWD|TOKEN|SECRET|API_KEY)$/.test(key) && !/^(true|false|)$/.test(String(value))) {
          expect(String(value), `${name}.${key} must come from .env`).toMatch(/\$\{[A-Z_]+:\?/);
        }
      }
    }
    expect(read('.gitignore').split('\n')).toContain('.env');
    expect(read('.dockerignore').split('\n')).toContain('.env');
  });

  it('creates the per-component roles the services log in with', () => {
    const init = read('deploy/postgres/10-roles-and-databases.sh');
    for (const role of ['label_loop', 'label_studio', 'temporal']) expect(init).toMatch(new RegExp(`CREATE ROLE ${role} LOGIN`));
    expect(init).toMatch(/CREATE ROLE temporal LOGIN CREATEDB/);
    expect(services.postgres.volumes).toContain('./deploy/postgres:/docker-entrypoint-initdb.d:ro');
  });
});

describe('Dockerfile', () => {
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({ image: m[1], name: m[2] }));
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('is multi-stage, the runtime stage last, from a pinned base image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.at(-1)?.name).toBe('runtime');
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(base).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
  });

  it('ships production dependencies only', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    // The runtime's node_modules come from the --omit=dev stage, never from the build stage.
    expect(runtime).toMatch(/COPY --from=deps \/app\/node_modules/);
    expect(runtime).not.toMatch(/COPY --from=build \/app\/node_modules/);
    expect(runtime).not.toMatch(/^RUN npm (ci|install)(?!.*--omit=dev)/m);
  });

  it('bundles the workflow code at build time and points the worker at the bundle', () => {
    const build = dockerfile.slice(dockerfile.indexOf('AS build'), dockerfile.indexOf('AS runtime'));
    expect(build).toMatch(/RUN node --import tsx worker\/bundleWorkflows\.ts (\S+)/);
    const bundle = /worker\/bundleWorkflows\.ts (\S+)/.exec(build)![1];
    expect(runtime).toContain(`COPY --from=build ${bundle}`);
    expect(runtime).toMatch(new RegExp(`LABEL_LOOP_WORKFLOW_BUNDLE=${bundle.replace('/app', '/app')}`));
    expect(read('worker/bundleWorkflows.ts')).toContain('bundleWorkflowCode');
    // Nothing that runs at container start bundles: not the command, not the entrypoint.
    const startLines = runtime.split('\n').filter((l) => /^(CMD|ENTRYPOINT)/.test(l)).join('\n');
    expect(startLines).not.toMatch(/bundle/i);
    for (const service of [services.api, services.worker]) expect(commandText(service)).not.toMatch(/bundle/i);
  });

  it('runs as a non-root user under tini, with a healthcheck for the API', () => {
    const user = /^USER\s+(\S+)/m.exec(runtime)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]/m);
    expect(runtime).toMatch(/apt-get install[^\n]*tini/);
    expect(runtime).toMatch(/^HEALTHCHECK [\s\S]*\/health/m);
    expect(runtime).toMatch(/^CMD \["node", "--import", "tsx", "cli\/main\.ts", "api"\]/m);
  });

  it('copies every source directory the runtime imports', () => {
    const copied = new Set([...runtime.matchAll(/^COPY (\w+) \.\/\1$/gm)].map((m) => m[1]));
    const mainSources = ['activities', 'api', 'cli', 'contract', 'dataset', 'infra', 'labelstudio', 'model', 'policies', 'store', 'worker', 'workflows'];
    for (const dir of mainSources) expect(copied, `runtime stage lacks ${dir}/`).toContain(dir);
  });
});
