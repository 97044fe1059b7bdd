import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, REPO_ROOT } from '../../worker/config.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions.js';

// No Docker engine on our machines: docker-compose.yml is checked statically against the code.
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const configSource = readFileSync(path.join(REPO_ROOT, 'worker/config.ts'), 'utf8');

describe('docker-compose.yml', () => {
  it('has the services Label Loop needs', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'label-studio', 'postgres', 'temporal', 'worker']);
  });

  it.each(['api', 'worker'])('%s gets a configuration Label Loop accepts, using only variables it reads', (name) => {
    const env = compose.services[name].environment as Record<string, string>;
    for (const key of Object.keys(env)) expect(configSource, `${key} is not read by worker/config.ts`).toContain(key);
    const config = loadConfig(env);
    expect(config.databaseUrl).toMatch(/@postgres:5432\//);
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.security.basicAuth).toBeDefined();
    expect(config.labelStudio?.url).toBe('http://label-studio:8080');
  });

  it('registers exactly our search attributes on the Temporal dev server', () => {
    const flags = (compose.services.temporal.command as string[]).filter((c) => c.startsWith('--search-attribute='));
    expect(flags.map((f) => f.slice('--search-attribute='.length)).sort()).toEqual(
      Object.entries(SEARCH_ATTRIBUTES).map(([k, v]) => `${k}=${v}`).sort(),
    );
  });

  it('gives Label Studio the token the Label Loop services use', () => {
    expect(compose.services['label-studio'].environment.LABEL_STUDIO_USER_TOKEN).toBe(compose.services.api.environment.LABEL_STUDIO_API_KEY);
  });
});
