import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { parseRoundWorkflowId, rootCause, storyLines } from '../../worker/story.js';
import { roundOfVersion, tallyRun } from '../../demo/tally.js';
import type { RoundResult } from '../../contract/index.js';

const metrics = (accuracy: number, macroF1: number) => ({ n: 240, accuracy, macroF1, perClassF1: {}, logLoss: 0.2 });
const result = (over: Partial<RoundResult> = {}): RoundResult => ({
  round: 3,
  trigger: 'annotations',
  snapshotId: 's3',
  trainCount: 960,
  auditCount: 240,
  modelVersion: 'r3-3f2a9c1e',
  promoted: true,
  reason: 'promoted: more labels, not significantly worse; macroF1 +0.0250 [-0.0040, +0.0540] vs r2-aa11bb22 on 240 audit items; candidate alone right on 14, r2-aa11bb22 alone on 8 (McNemar mid-p 0.211)',
  championVersion: 'r3-3f2a9c1e',
  candidateMetrics: metrics(0.93, 0.912),
  championMetrics: metrics(0.9, 0.887),
  predicted: 6046,
  pushed: 6046,
  ...over,
});
const base = { projectId: 1, round: 3, workflowId: 'label-loop-project-1-round-3' };

describe('the stack\'s story lines', () => {
  it('a promotion names the evidence, then the push', () => {
    expect(storyLines({ ...base, outcome: 'promoted', result: result() })).toEqual([
      'project 1 round 3: PROMOTED r3-3f2a9c1e: more labels, not significantly worse; macroF1 +0.0250 [-0.0040, +0.0540] vs r2-aa11bb22 on 240 audit items; candidate alone right on 14, r2-aa11bb22 alone on 8 (McNemar mid-p 0.211) (240 audit items, cross-validated accuracy 0.930, macro-F1 0.912; trained on 960)',
      'project 1 round 3: pushed 6,046 predictions of r3-3f2a9c1e to Label Studio',
    ]);
  });

  it('a rejection says which champion stays and why; without Label Studio nothing is pushed', () => {
    const r = result({
      promoted: false,
      modelVersion: 'r3-bad',
      championVersion: 'r2-aa11bb22',
      reason: 'rejected: significantly worse with more labels; macroF1 -0.3870 [-0.4500, -0.3200] vs r2-aa11bb22 on 240 audit items; candidate alone right on 3, r2-aa11bb22 alone on 90 (McNemar mid-p 0.000)',
      pushed: 0,
      predicted: 12,
    });
    expect(storyLines({ ...base, outcome: 'rejected', result: r })).toEqual([
      expect.stringMatching(/^project 1 round 3: rejected r3-bad, champion r2-aa11bb22 stays: significantly worse with more labels; macroF1 -0\.3870/),
      'project 1 round 3: 12 new predictions of r2-aa11bb22 stored (no Label Studio configured: nothing pushed)',
    ]);
    expect(storyLines({ ...base, outcome: 'rejected', result: { ...r, predicted: 0 } })).toHaveLength(1);
  });

  it('a failure names its root cause', () => {
    expect(storyLines({ ...base, outcome: 'failed', error: { type: 'TooFewLabels', message: 'only 4 training labels', expected: true } })).toEqual([
      'project 1 round 3: FAILED: TooFewLabels: only 4 training labels (workflow label-loop-project-1-round-3)',
    ]);
  });

  it('finds the root cause at the bottom of the failure chain', () => {
    const app = ApplicationFailure.create({ message: 'only 4 training labels', type: 'TooFewLabels', nonRetryable: true, category: ApplicationFailureCategory.BENIGN });
    const wrapped = new Error('Workflow execution failed', { cause: new Error('Activity task failed', { cause: app }) });
    expect(rootCause(wrapped)).toEqual({ type: 'TooFewLabels', message: 'only 4 training labels', expected: true });
    expect(rootCause(new TypeError('x is undefined'))).toEqual({ type: 'TypeError', message: 'x is undefined', expected: false });
  });

  it('reads project and round from a round workflow id', () => {
    expect(parseRoundWorkflowId('label-loop-project-12-round-3')).toEqual({ projectId: 12, round: 3 });
    expect(parseRoundWorkflowId('label-loop-project-12')).toBeNull();
  });
});

describe('the demo counts the rounds of its own run', () => {
  it.each([
    // First run: the loop did not exist.
    [0, 8, [{ round: 1, promoted: true }, { round: 2, promoted: false }, { round: 5, promoted: true }], { rounds: 8, promotions: 2 }],
    // Second run after a first with 7 rounds: one new round, not promoted (the bug printed "8 rounds, 6 promotions").
    [7, 8, [1, 2, 3, 4, 5, 6].map((round) => ({ round, promoted: true })).concat([{ round: 8, promoted: false }]), { rounds: 1, promotions: 0 }],
    // A round seen twice is counted once.
    [2, 4, [{ round: 3, promoted: true }, { round: 3, promoted: true }, { round: 4, promoted: true }], { rounds: 2, promotions: 2 }],
    // The counter cannot go backwards into negative rounds.
    [5, 3, [], { rounds: 0, promotions: 0 }],
  ])('rounds above %i, counter now %i → %j', (atStart, now, decided, expected) => {
    expect(tallyRun(atStart, now, decided)).toEqual(expected);
  });

  it('reads the round from a model version', () => {
    expect(roundOfVersion('r12-3f2a9c1e')).toBe(12);
    expect(roundOfVersion('champion')).toBeNull();
  });
});
