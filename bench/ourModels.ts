/** Our classifiers as the benchmarks see them: train on labelled texts (+ an unlabelled pool), predict probabilities. */
import { initBackend } from '../model/backend.js';
import { defaultSpec, defaultTrainOptions, trainClassifier, type TrainOptions } from '../model/classifier.js';
import { defaultLegacySpec, defaultLegacyTrainOptions, trainLegacyClassifier } from '../model/legacyClassifier.js';

export interface TrainedModel {
  predictProba(texts: string[]): number[][];
  dispose(): void;
}

export interface OurModel {
  train(labels: string[], examples: { text: string; labels: string[] }[], pool: string[], seed: number): Promise<TrainedModel>;
}

function variant(options: Partial<TrainOptions>, usePool = true, dim?: number): OurModel {
  return {
    async train(labels, examples, pool, seed) {
      const spec = defaultSpec(labels, false);
      if (dim) spec.featurizer.dim = dim;
      return trainClassifier(spec, examples, { ...defaultTrainOptions(seed), ...options }, usePool ? { pool } : {});
    },
  };
}

export const OUR_MODELS = {
  /** The classifier the loop trains (model/classifier.ts defaults), IDF fitted on the pool. */
  default: variant({}),
  /** Same, IDF fitted on the labelled examples only (as the sklearn baselines do). */
  noPool: variant({}, false),
  /** SVM member only. */
  svmOnly: variant({ nbWeight: 0 }),
  /** Naive-Bayes member only. */
  nbOnly: variant({ nbWeight: 1 }),
  nb001: variant({ nbWeight: 1, nbSmoothing: 0.01 }),
  nb0003: variant({ nbWeight: 1, nbSmoothing: 0.003 }),
  nb003: variant({ nbWeight: 1, nbSmoothing: 0.03 }),
  auto001: variant({ nbSmoothing: 0.01 }),
  dim20: variant({}, true, 2 ** 20),
  dim16: variant({}, true, 2 ** 16),
  c05: variant({ C: 0.5 }),
  c2: variant({ C: 2 }),
  /** The v1 tfjs classifier (legacyClassifier.ts) with its defaults. */
  legacy: {
    async train(labels, examples, _pool, seed) {
      await initBackend({ forced: process.env.LABEL_LOOP_TF_BACKEND as never });
      return trainLegacyClassifier(defaultLegacySpec(labels, false), examples, defaultLegacyTrainOptions(seed));
    },
  },
} satisfies Record<string, OurModel>;

export type OurModelName = keyof typeof OUR_MODELS;
