/**
 * Runs bench/python/baselines.py (scikit-learn) from the TypeScript benchmarks. The interpreter is
 * $LABEL_LOOP_PYTHON, else the venv made by bench/python/setup.sh
 * (${XDG_CACHE_HOME:-$HOME/.cache}/label-loop/venv/bin/python). `pythonAvailable()` is false when
 * neither exists or scikit-learn does not import, and the benchmarks then skip the baselines.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type SklearnModel = 'ls_example' | 'lr_cv' | 'svm' | 'cnb';

export interface CurveResult {
  key: string;
  model: SklearnModel;
  n: number;
  accuracy: number;
  macroF1: number;
  fitSeconds: number;
}

export interface SpeedResult {
  model: SklearnModel;
  /** Medians over `runs`: wall-clock and process CPU seconds. */
  trainSeconds: number;
  predictSeconds: number;
  trainCpuSeconds: number;
  predictCpuSeconds: number;
  runs: number;
}

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python', 'baselines.py');

export function pythonPath(): string {
  if (process.env.LABEL_LOOP_PYTHON) return process.env.LABEL_LOOP_PYTHON;
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'label-loop', 'venv', 'bin', 'python');
}

let available: boolean | undefined;
export function pythonAvailable(): boolean {
  if (available === undefined) {
    const python = pythonPath();
    try {
      available = existsSync(python) && execFileSync(python, ['-c', 'import sklearn; print(sklearn.__version__)']).toString().trim().length > 0;
    } catch {
      available = false;
    }
  }
  return available;
}

export function sklearnVersion(): string {
  return execFileSync(pythonPath(), ['-c', 'import sklearn, sys; print(sklearn.__version__, sys.version.split()[0])']).toString().trim();
}

function run<T>(job: object): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'label-loop-sklearn-'));
  try {
    const input = path.join(dir, 'job.json');
    const output = path.join(dir, 'result.json');
    writeFileSync(input, JSON.stringify(job));
    // OPENBLAS_* are left as the environment sets them; the models here are sparse and do not use BLAS much.
    execFileSync(pythonPath(), [SCRIPT, input, output], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 26 });
    return JSON.parse(readFileSync(output, 'utf8')) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fits each model on each job's training indices and scores it on `test` (indices into texts/y). */
export function sklearnCurves(args: {
  labels: string[];
  texts: string[];
  y: number[];
  test: number[];
  jobs: { key: string; train: number[] }[];
  models: SklearnModel[];
}): CurveResult[] {
  return run<CurveResult[]>({ mode: 'curves', ...args });
}

/** Median train / predict_proba seconds over `runs`. */
export function sklearnSpeed(args: { texts: string[]; y: number[]; trainIdx: number[]; predictIdx: number[]; models: SklearnModel[]; runs: number }): SpeedResult[] {
  return run<SpeedResult[]>({ mode: 'speed', labels: [], test: [], jobs: [], ...args });
}
