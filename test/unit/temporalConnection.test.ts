import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig, REPO_ROOT } from '../../worker/config.js';
import { describeTemporalConnection, temporalConnectionOptions } from '../../worker/temporalConnection.js';

const files: Record<string, string> = {
  '/certs/client.pem': 'CLIENT CERT',
  '/certs/client.key': 'CLIENT KEY',
  '/certs/ca.pem': 'PRIVATE CA',
};
const readFake = (p: string): Buffer => {
  if (!(p in files)) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
  return Buffer.from(files[p]);
};
const optionsFor = (env: Record<string, string>) =>
  temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233', ...env }).temporal, readFake);

describe('temporalConnectionOptions', () => {
  it('is plaintext with only an address', () => {
    const options = optionsFor({});
    expect(options).toEqual({ address: 'temporal.example:7233' });
    expect(describeTemporalConnection(options)).toBe('temporal.example:7233 (plaintext)');
  });

  it('builds mTLS from certificate and key files (Temporal Cloud certificate auth)', () => {
    const options = optionsFor({ TEMPORAL_TLS_CERT: '/certs/client.pem', TEMPORAL_TLS_KEY: '/certs/client.key' });
    expect(options.tls).toEqual({ clientCertPair: { crt: Buffer.from('CLIENT CERT'), key: Buffer.from('CLIENT KEY') } });
    expect(options.apiKey).toBeUndefined();
    expect(describeTemporalConnection(options)).toBe('temporal.example:7233 (mTLS)');
  });

  it('adds a private CA and a server name', () => {
    const options = optionsFor({ TEMPORAL_TLS_CA: '/certs/ca.pem', TEMPORAL_TLS_SERVER_NAME: 'frontend.internal' });
    expect(options.tls).toEqual({ serverRootCACertificate: Buffer.from('PRIVATE CA'), serverNameOverride: 'frontend.internal' });
    expect(describeTemporalConnection(options)).toBe('temporal.example:7233 (TLS, custom CA, server name frontend.internal)');
  });

  it('turns TLS on for an API key (Temporal Cloud API-key auth) and never prints the key', () => {
    const options = optionsFor({ TEMPORAL_API_KEY: 'secret-key' });
    expect(options).toEqual({ address: 'temporal.example:7233', tls: {}, apiKey: 'secret-key' });
    expect(describeTemporalConnection(options)).toBe('temporal.example:7233 (TLS, API key)');
    expect(describeTemporalConnection(options)).not.toContain('secret-key');
  });

  it('honours TEMPORAL_TLS=true with nothing else, and TEMPORAL_TLS=false with an API key', () => {
    expect(optionsFor({ TEMPORAL_TLS: 'true' }).tls).toEqual({});
    expect(optionsFor({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toEqual({ address: 'temporal.example:7233', tls: false, apiKey: 'k' });
  });

  it('names the variable whose file cannot be read', () => {
    expect(() => optionsFor({ TEMPORAL_TLS_CERT: '/certs/missing.pem', TEMPORAL_TLS_KEY: '/certs/client.key' })).toThrow(
      /TEMPORAL_TLS_CERT=\/certs\/missing\.pem: cannot read the file \(ENOENT/,
    );
  });

  it('rejects half or contradictory settings at configuration time', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: '/certs/client.pem' })).toThrow(ConfigError);
    expect(() => loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: '/certs/ca.pem' })).toThrow(/contradicts/);
    expect(() => loadConfig({ TEMPORAL_TLS: 'maybe' })).toThrow(/TEMPORAL_TLS="maybe"/);
    expect(() => temporalConnectionOptions(loadConfig({}).temporal)).toThrow(/TEMPORAL_ADDRESS is required/);
  });

  it('passes real files through (the default reader)', () => {
    const pem = path.join(REPO_ROOT, 'package.json'); // any readable file will do
    const options = temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_CA: pem }).temporal);
    expect(options.tls && options.tls.serverRootCACertificate?.toString()).toBe(readFileSync(pem, 'utf8'));
  });
});

describe('CONFIG_VARIABLES', () => {
  // Every `env.NAME`, `env['NAME']`, `num(env, 'NAME')` and LABEL_LOOP_ constant in the application's source, so the
  // list (and the compose check built on it) cannot silently fall behind the code.
  const sourceDirs = ['worker', 'api', 'activities', 'model', 'store', 'labelstudio', 'demo'];
  const ignored = new Set(['PATH', 'HOME']);
  const read = (dir: string): string[] =>
    readdirSync(path.join(REPO_ROOT, dir)).flatMap((name) => {
      const rel = path.join(dir, name);
      if (statSync(path.join(REPO_ROOT, rel)).isDirectory()) return read(rel);
      return name.endsWith('.ts') ? [readFileSync(path.join(REPO_ROOT, rel), 'utf8')] : [];
    });
  const sources = (sourceDirs.flatMap(read).join('\n') + readFileSync(path.join(REPO_ROOT, 'infra', 'temporal.ts'), 'utf8'))
    // not the list itself
    .replace(/export const CONFIG_VARIABLES = \[[^\]]*\]/, '');
  const used = new Set(
    [
      ...sources.matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]+)/g), // env.X, process.env.X, env['X']
      ...sources.matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g), // num(env, 'X'), bool(env, 'X')
      ...sources.matchAll(/'(LABEL_LOOP_[A-Z0-9_]+)'/g), // constants such as BACKEND_ENV
    ]
      .map((m) => m[1])
      .filter((name) => !ignored.has(name)),
  );

  it('lists every variable the code reads', () => {
    expect([...used].filter((name) => !(CONFIG_VARIABLES as readonly string[]).includes(name)).sort()).toEqual([]);
  });

  it('lists only variables the code reads', () => {
    expect(CONFIG_VARIABLES.filter((name) => !used.has(name))).toEqual([]);
  });
});
