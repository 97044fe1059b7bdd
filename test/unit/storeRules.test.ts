import { describe, expect, it } from 'vitest';
import { projectConflicts, type IntakeItem } from '../../store/events.js';
import { storableJson, storableText } from '../../store/text.js';

const item = (projectId: number, taskIds: number[], annotationIds: number[] = []): IntakeItem => ({
  event: { projectId, action: 'X', dedupKey: `${projectId}:${taskIds}`, annotationChanges: 0, taskChanges: 0, trainingRequested: false, payload: {} },
  effects: {
    tasks: taskIds.map((id) => ({ id, projectId, data: {} })),
    annotations: annotationIds.map((id) => ({ id, projectId, taskId: taskIds[0], result: [], wasCancelled: false, sourceUpdatedAt: null })),
    deletedTaskIds: [],
    deletedAnnotationIds: [],
  },
});

describe('project isolation (projectConflicts)', () => {
  it('refuses an event touching another project\'s task or annotation, and only that event', () => {
    const owners = { tasks: new Map([[10, 14]]), annotations: new Map([[500, 14]]) };
    const out = projectConflicts([item(99, [10]), item(14, [10]), item(99, [11], [500]), item(99, [12])], owners);
    expect(out[0]).toMatch(/task 10 belongs to project 14, not 99/);
    expect(out[1]).toBeNull();
    expect(out[2]).toMatch(/annotation 500 belongs to project 14/);
    expect(out[3]).toBeNull();
  });
  it('within one batch, the first project to claim a new id keeps it', () => {
    const out = projectConflicts([item(1, [77]), item(2, [77])], { tasks: new Map(), annotations: new Map() });
    expect(out).toEqual([null, 'task 77 belongs to project 1, not 2']);
  });
});

describe('text PostgreSQL cannot store', () => {
  it.each([
    ['NUL', 'a\u0000b', 'a\uFFFDb'],
    ['a lone high surrogate', 'x\uD800y', 'x\uFFFDy'],
    ['a lone low surrogate', '\uDC00', '\uFFFD'],
    ['a valid pair is kept', '😀', '😀'],
    ['plain text is kept', 'hello', 'hello'],
  ])('%s', (_name, input, output) => {
    expect(storableText(input)).toBe(output);
  });
  it('cleans values and keys inside JSON, and leaves clean JSON untouched', () => {
    expect(JSON.parse(storableJson({ 'k\u0000': ['v\uD800', { deep: 'ok\u0000' }] }))).toEqual({ 'k\uFFFD': ['v\uFFFD', { deep: 'ok\uFFFD' }] });
    const clean = { a: 'text with a \\u0000 written out', b: [1, 2] };
    expect(JSON.parse(storableJson(clean))).toEqual(clean);
  });
});
