import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

/**
 * The one-way house (README "Where things live"): api → Temporal → workflows → activities →
 * domain. Each folder may import only what is downstream of it; these rules make a wrong-way
 * import a lint error rather than a review comment.
 */
const layer = (files, forbidden, message, extra = {}) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        ...extra,
        patterns: [...(extra.patterns ?? []), { group: forbidden.flatMap((f) => [`../${f}/*`, `../../${f}/*`]), message }],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.tools/**', 'dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The dashboard's script runs in the browser as it is (no build step): browser globals, and
    // uPlot as the page loads it.
    files: ['api/dashboard/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'fetch', 'setTimeout', 'clearTimeout', 'devicePixelRatio', 'ResizeObserver', 'Node', 'uPlot'].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    // Configuration is read once, in worker/config.ts. Tests, benchmarks and the launchers of
    // test infrastructure (infra/: child processes get the parent's environment) set up their own.
    files: ['**/*.ts'],
    ignores: ['worker/config.ts', 'test/**', 'bench/**', 'infra/**', 'vitest.config.ts'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through worker/config.ts.' }] },
  },
  // Domain: knows nothing of Temporal, HTTP or the processes around it.
  layer(['model/**/*.ts'], ['store', 'labelstudio', 'activities', 'api', 'workflows', 'worker', 'cli', 'contract', 'policies', 'dataset', 'demo'], 'model/ is pure domain code.'),
  layer(['store/**/*.ts'], ['labelstudio', 'activities', 'api', 'workflows', 'worker', 'cli', 'demo'], 'store/ keeps rows: it may import domain types only.', {
    patterns: [{ group: ['../dataset/*', '../model/*'], allowTypeImports: true, message: 'store/ may import domain types only.' }],
  }),
  layer(['labelstudio/**/*.ts'], ['store', 'activities', 'api', 'workflows', 'worker', 'cli', 'demo'], 'labelstudio/ speaks to Label Studio; it knows nothing of storage or Temporal.'),
  layer(['dataset/**/*.ts', 'policies/**/*.ts'], ['store', 'activities', 'api', 'workflows', 'worker', 'cli', 'demo'], 'Domain and policies are pure.'),
  layer(['contract/**/*.ts'], ['store', 'labelstudio', 'activities', 'api', 'workflows', 'worker', 'cli', 'demo', 'policies', 'dataset'], 'The contract depends on nothing but Temporal and domain types.', {
    patterns: [{ group: ['../model/*'], allowTypeImports: true, message: 'The contract may import domain types only.' }],
  }),
  layer(['client/**/*.ts'], ['store', 'labelstudio', 'activities', 'api', 'workflows', 'worker', 'cli', 'demo', 'policies', 'dataset', 'model'], 'client/ speaks the contract to Temporal; nothing else.'),
  layer(['activities/**/*.ts'], ['api', 'workflows', 'worker', 'cli', 'demo'], 'Activities are called by workflows; they do not call back up.'),
  layer(['api/**/*.ts'], ['activities', 'workflows', 'worker', 'cli', 'demo'], 'The API talks to Temporal through contract/ and api/loopGateway.ts, never to workflow or activity code.'),
  layer(['worker/**/*.ts'], ['cli', 'demo'], 'worker/ wires processes; the CLI and the demo sit above it.'),
  {
    // Workflow code is replayed deterministically in Temporal's sandbox: no Node built-ins, no I/O
    // modules, and activities only as types.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Node built-ins are not allowed in workflow code.' })),
          patterns: [
            { group: ['node:*'], message: 'Node built-ins are not allowed in workflow code.' },
            { group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker'], message: 'Not available in the workflow sandbox.' },
            {
              group: ['../activities/*', '../store/*', '../model/*', '../api/*', '../worker/*', '../labelstudio/*', '../dataset/*', 'pg', 'fastify', 'pino', '@tensorflow/*'],
              allowTypeImports: true,
              message: 'Workflows may import these as types only.',
            },
          ],
        },
      ],
    },
  },
);
