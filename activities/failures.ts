/**
 * How activities fail. Faults that retrying cannot fix (a label config we cannot train on, too
 * few labels, a token Label Studio refuses) are non-retryable ApplicationFailures with a message
 * the user can act on; everything else is thrown as it is and retried by Temporal under the
 * activity's profile (workflows/profiles.ts).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import { LabelStudioError } from '../labelstudio/client.js';
import { isLabelConfigError } from '../labelstudio/labelConfig.js';

export const nonRetryable = (message: string, type: string) => ApplicationFailure.create({ message, type, nonRetryable: true });

/**
 * A round that cannot run yet for a reason the user expects (too few labels, no label config,
 * a config we cannot train on): non-retryable and BENIGN, so Temporal's worker logs it as one
 * line at debug/info instead of a warning with a stack trace.
 */
export const expectedFailure = (message: string, type: string) =>
  ApplicationFailure.create({ message, type, nonRetryable: true, category: ApplicationFailureCategory.BENIGN });

/** Label Studio errors that retrying cannot fix stop the round with their (already truncated) message. */
export async function labelStudioCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LabelStudioError && err.permanent) throw nonRetryable(err.message, 'LabelStudioRejected');
    throw err;
  }
}

/** A label config error (malformed, hostile or unsupported) as a non-retryable failure. */
export function configFailure(err: unknown, projectId: number): never {
  if (isLabelConfigError(err)) throw expectedFailure(`project ${projectId}: ${(err as Error).message}`, 'UnsupportedLabelConfig');
  throw err;
}
