/**
 * The one translation of a model's output into Label Studio's prediction format, used by
 * `/predict` (Label Studio asks) and by the push (Label Loop sends).
 */
import { choicesResult, type ClassificationTask } from './labelConfig.js';

/** A prediction as Label Studio stores it: `result` items, a `score` and the model version. */
export interface LabelStudioPrediction {
  result: ReturnType<typeof choicesResult>;
  score: number;
  model_version: string;
}

/**
 * `labels` predicted for a task under `task`'s <Choices>, with the `score` Label Studio orders by
 * (see policies/sampling.ts `labelStudioScore`: lower = served first).
 */
export function toLabelStudioPrediction(task: ClassificationTask, labels: string[], score: number, modelVersion: string): LabelStudioPrediction {
  return { result: choicesResult(task, labels), score, model_version: modelVersion };
}
