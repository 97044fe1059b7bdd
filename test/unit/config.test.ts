import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig, REPO_ROOT } from '../../worker/config.js';
import { DEFAULT_DEBOUNCE } from '../../contract/index.js';
import { configTable } from '../../worker/configDocs.js';

describe('configuration', () => {
  it('has working defaults and the one debounce default', () => {
    const c = loadConfig({});
    expect(c.debounce).toEqual(DEFAULT_DEBOUNCE);
    expect(c.api).toMatchObject({ host: '127.0.0.1', port: 9090 });
    expect(c.cacheDir).not.toContain(REPO_ROOT);
  });

  it.each([
    [{ LABEL_LOOP_PORT: '70000' }, /LABEL_LOOP_PORT="70000": must be <= 65535/],
    [{ LABEL_LOOP_QUIET_PERIOD_MS: 'soon' }, /LABEL_LOOP_QUIET_PERIOD_MS="soon": must be integer/],
    [{ LABEL_LOOP_PROMOTION_METRIC: 'f2' }, /LABEL_LOOP_PROMOTION_METRIC/],
    [{ LABEL_LOOP_TF_BACKEND: 'gpu' }, /LABEL_LOOP_TF_BACKEND/],
    [{ LABEL_LOOP_QUIETPERIOD_MS: '1' }, /unknown variable LABEL_LOOP_QUIETPERIOD_MS/],
    [{ LABEL_LOOP_BASIC_AUTH_USER: 'x' }, /must be set together/],
    [{ LABEL_STUDIO_URL: 'localhost:8080', LABEL_STUDIO_API_KEY: 'k' }, /LABEL_STUDIO_URL="localhost:8080"/],
    [{ LABEL_LOOP_WORKER_METRICS_PORT: '0' }, /LABEL_LOOP_WORKER_METRICS_PORT="0": must be >= 1/],
    [{ LABEL_LOOP_TEMPORAL_UI_URL: 'localhost:8233' }, /LABEL_LOOP_TEMPORAL_UI_URL="localhost:8233"/],
  ])('refuses %j with an error naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never echoes a secret in an error', () => {
    expect(() => loadConfig({ LABEL_LOOP_WEBHOOK_SECRET: 'hunter2', LABEL_LOOP_PORT: 'x' })).not.toThrow(/hunter2/);
    expect(() => loadConfig({ DATABASE_URL: '' , LABEL_LOOP_DB_POOL_MAX: '0' })).toThrow(/LABEL_LOOP_DB_POOL_MAX/);
  });

  it.each([
    [{}, undefined],
    [{ LABEL_LOOP_WORKER_METRICS_PORT: '9464' }, { bindAddress: '127.0.0.1:9464' }],
    [{ LABEL_LOOP_WORKER_METRICS_PORT: '9464', LABEL_LOOP_WORKER_METRICS_HOST: '0.0.0.0' }, { bindAddress: '0.0.0.0:9464' }],
    [{ LABEL_LOOP_WORKER_METRICS_PORT: '9464', LABEL_LOOP_WORKER_METRICS_HOST: '::' }, { bindAddress: '[::]:9464' }],
  ])('exports the worker\'s Temporal metrics only when a port is set (%j)', (env, expected) => {
    expect(loadConfig(env).workerMetrics).toEqual(expected);
  });

  it.each([
    [{}, 'http://localhost:8233'],
    [{ LABEL_LOOP_TEMPORAL_UI_PORT: '18233' }, 'http://localhost:18233'],
    [{ TEMPORAL_ADDRESS: 'temporal:7233' }, undefined],
    [{ TEMPORAL_ADDRESS: 'temporal:7233', LABEL_LOOP_TEMPORAL_UI_URL: 'https://temporal.example.com/' }, 'https://temporal.example.com'],
  ])('links the dashboard to the Temporal Web UI Label Loop runs, or the one configured (%j)', (env, expected) => {
    expect(loadConfig(env).temporal.uiUrl).toBe(expected);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ LABEL_LOOP_PORT: '' }).api.port).toBe(9090);
  });

  it('lets the environment win over a command\'s defaults', () => {
    expect(loadConfig({}, { LABEL_LOOP_QUIET_PERIOD_MS: '1500' }).debounce.quietPeriodMs).toBe(1500);
    expect(loadConfig({ LABEL_LOOP_QUIET_PERIOD_MS: '10' }, { LABEL_LOOP_QUIET_PERIOD_MS: '1500' }).debounce.quietPeriodMs).toBe(10);
  });

  it('lists every variable in the README, in the table generated from the schema (npm run docs)', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(configTable());
    expect(CONFIG_VARIABLES.filter((v) => !readme.includes(v))).toEqual([]);
  });
});
