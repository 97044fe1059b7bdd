import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RoundConfig } from '../activities/index.js';
import type { DebounceSettings } from '../workflows/definitions.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Everything Label Loop reads from the environment, in one place. See README "Configuration". */
export interface Config {
  dataDir: string;
  databaseUrl?: string;
  embeddedPostgresPort: number;
  temporal: { address?: string; namespace: string; taskQueue: string; port: number; uiPort: number };
  api: { host: string; port: number };
  security: { basicAuth?: { user: string; password: string }; webhookSecret?: string; webhookSecretHeader: string };
  debounce: DebounceSettings;
  round: RoundConfig;
  labelStudio?: { url: string; apiKey: string };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function num(env: Env, name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)}: expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
  }
  return value;
}

function optionalTrain(env: Env): RoundConfig['train'] {
  const train: RoundConfig['train'] = {};
  if (env.LABEL_LOOP_EPOCHS) train.epochs = num(env, 'LABEL_LOOP_EPOCHS', 0, { min: 0, max: 10_000 });
  if (env.LABEL_LOOP_LEARNING_RATE) train.learningRate = num(env, 'LABEL_LOOP_LEARNING_RATE', 0, { min: 1e-9, max: 10, integer: false });
  if (env.LABEL_LOOP_BATCH_SIZE) train.batchSize = num(env, 'LABEL_LOOP_BATCH_SIZE', 0, { min: 1, max: 100_000 });
  return train;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(env.LABEL_LOOP_DATA_DIR ?? path.join(REPO_ROOT, '.data'));
  const temporalPort = num(env, 'LABEL_LOOP_TEMPORAL_PORT', 7233, { min: 1, max: 65535 });
  const user = env.LABEL_LOOP_BASIC_AUTH_USER;
  const password = env.LABEL_LOOP_BASIC_AUTH_PASSWORD;
  if (!!user !== !!password) throw new ConfigError('LABEL_LOOP_BASIC_AUTH_USER and LABEL_LOOP_BASIC_AUTH_PASSWORD must be set together');
  const metric = env.LABEL_LOOP_PROMOTION_METRIC ?? 'macroF1';
  if (metric !== 'macroF1' && metric !== 'accuracy') throw new ConfigError(`LABEL_LOOP_PROMOTION_METRIC=${metric}: expected macroF1 or accuracy`);
  const lsUrl = env.LABEL_STUDIO_URL;
  const lsKey = env.LABEL_STUDIO_API_KEY;
  if (!!lsUrl !== !!lsKey) throw new ConfigError('LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY must be set together');

  return {
    dataDir,
    databaseUrl: env.DATABASE_URL || undefined,
    embeddedPostgresPort: num(env, 'LABEL_LOOP_POSTGRES_PORT', 54329, { min: 1, max: 65535 }),
    temporal: {
      address: env.TEMPORAL_ADDRESS || undefined,
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE || 'label-loop',
      port: temporalPort,
      uiPort: num(env, 'LABEL_LOOP_TEMPORAL_UI_PORT', 8233, { min: 1, max: 65535 }),
    },
    api: { host: env.LABEL_LOOP_HOST || '127.0.0.1', port: num(env, 'LABEL_LOOP_PORT', 9090, { min: 0, max: 65535 }) },
    security: {
      basicAuth: user && password ? { user, password } : undefined,
      webhookSecret: env.LABEL_LOOP_WEBHOOK_SECRET || undefined,
      webhookSecretHeader: env.LABEL_LOOP_WEBHOOK_SECRET_HEADER || 'X-Label-Loop-Secret',
    },
    debounce: {
      minAnnotations: num(env, 'LABEL_LOOP_MIN_ANNOTATIONS', 10, { min: 1 }),
      quietPeriodMs: num(env, 'LABEL_LOOP_QUIET_PERIOD_MS', 5_000),
      maxWaitMs: num(env, 'LABEL_LOOP_MAX_WAIT_MS', 120_000, { min: 1 }),
    },
    round: {
      heldOutPercent: num(env, 'LABEL_LOOP_HELD_OUT_PERCENT', 20, { min: 1, max: 90 }),
      minTrainExamples: num(env, 'LABEL_LOOP_MIN_TRAIN_EXAMPLES', 8, { min: 2 }),
      promotionMetric: metric,
      promotionMargin: num(env, 'LABEL_LOOP_PROMOTION_MARGIN', 0, { min: 0, max: 1, integer: false }),
      predictChunkSize: num(env, 'LABEL_LOOP_PREDICT_CHUNK_SIZE', 500, { min: 1, max: 100_000 }),
      predictChunkPauseMs: num(env, 'LABEL_LOOP_PREDICT_CHUNK_PAUSE_MS', 0),
      train: optionalTrain(env),
      seed: num(env, 'LABEL_LOOP_SEED', 42),
    },
    labelStudio: lsUrl && lsKey ? { url: lsUrl.replace(/\/+$/, ''), apiKey: lsKey } : undefined,
  };
}
