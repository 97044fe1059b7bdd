import { describe, expect, it } from 'vitest';
import { buildSnapshot, type AnnotatedTask } from '../../dataset/snapshot.js';
import { draw, isAudit } from '../../dataset/audit.js';
import type { ClassificationTask } from '../../dataset/task.js';

const task: ClassificationTask = { fromName: 'label', toName: 'text', textField: 'text', labels: ['spam', 'ham'], multiLabel: false };
const result = (label: string) => [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [label] } }];
const row = (over: Partial<AnnotatedTask>): AnnotatedTask => ({
  taskId: 1,
  annotationId: 1,
  result: result('spam'),
  wasCancelled: false,
  sourceUpdatedAt: null,
  data: { text: 'hello' },
  ...over,
});

describe('buildSnapshot', () => {
  it.each([
    ['the newer updated_at wins', [row({ annotationId: 1, sourceUpdatedAt: '2026-01-02T00:00:00Z', result: result('ham') }), row({ annotationId: 2, sourceUpdatedAt: '2026-01-01T00:00:00Z' })], ['ham']],
    ['a known date beats an unknown one', [row({ annotationId: 9 }), row({ annotationId: 2, sourceUpdatedAt: '2026-01-01T00:00:00Z', result: result('ham') })], ['ham']],
    ['without dates, the higher id wins', [row({ annotationId: 3, result: result('ham') }), row({ annotationId: 2 })], ['ham']],
    ['a skip is not a label', [row({ annotationId: 5, wasCancelled: true, sourceUpdatedAt: '2026-02-01T00:00:00Z', result: result('ham') }), row({ annotationId: 2 })], ['spam']],
  ])('%s', (_name, rows, labels) => {
    const snap = buildSnapshot(rows, task, { projectId: 1, share: 0 });
    expect(snap.examples.map((e) => e.labels)).toEqual([labels]);
  });

  it('skips tasks without text or without a label of the config, and counts them', () => {
    const snap = buildSnapshot(
      [row({ taskId: 1, data: { other: 'x' } }), row({ taskId: 2, result: result('unknown') }), row({ taskId: 3 })],
      task,
      { projectId: 1, share: 0 },
    );
    expect(snap).toMatchObject({ trainCount: 1, auditCount: 0, skippedCount: 2 });
  });

  it('marks audit items by a stable hash of project and task, the same in every round; every label trains', () => {
    const rows = Array.from({ length: 1_000 }, (_, i) => row({ taskId: i + 1, annotationId: i + 1 }));
    const a = buildSnapshot(rows, task, { projectId: 7, share: 0.2 });
    const b = buildSnapshot([...rows].reverse(), task, { projectId: 7, share: 0.2 });
    expect(a.examples).toEqual(b.examples);
    expect(a.trainCount).toBe(1_000);
    expect(a.auditCount).toBeGreaterThan(150);
    expect(a.auditCount).toBeLessThan(250);
    expect(a.examples.every((e) => e.audit === isAudit(7, e.taskId, 0.2))).toBe(true);
    // A larger share keeps every audit item of a smaller one (the set only grows).
    const c = buildSnapshot(rows, task, { projectId: 7, share: 0.3 });
    expect(a.examples.filter((e) => e.audit).every((e) => c.examples[e.taskId - 1].audit)).toBe(true);
    // Another project draws other tasks.
    const other = buildSnapshot(rows, task, { projectId: 8, share: 0.2 });
    expect(other.examples.map((e) => e.audit)).not.toEqual(a.examples.map((e) => e.audit));
  });

  it('the draw is uniform in [0, 1) and independent per salt', () => {
    const d = Array.from({ length: 20_000 }, (_, i) => draw(3, i + 1, 1));
    expect(Math.min(...d)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...d)).toBeLessThan(1);
    // Ten bins, each within 5 standard deviations of 2,000.
    const bins = new Array(10).fill(0);
    for (const x of d) bins[Math.floor(x * 10)]++;
    for (const b of bins) expect(Math.abs(b - 2_000)).toBeLessThan(5 * Math.sqrt(2_000 * 0.9));
    const both = d.filter((x, i) => x < 0.25 && draw(3, i + 1, 2) < 0.25).length;
    expect(Math.abs(both - 1_250)).toBeLessThan(5 * Math.sqrt(1_250));
    expect(isAudit(3, 1, 0)).toBe(false);
  });
});
