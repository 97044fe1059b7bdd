import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

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
            { group: ['../activities/*', '../store/*', '../model/*', '../api/*', '../worker/*', 'pg', 'fastify', '@tensorflow/*'], allowTypeImports: true, message: 'Workflows may import these as types only.' },
          ],
        },
      ],
    },
  },
);
