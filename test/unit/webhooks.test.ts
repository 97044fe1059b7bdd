import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { annotationChanges, dedupKey, parseWebhook, PayloadError } from '../../labelstudio/webhooks.js';
import { REPO_ROOT } from '../../worker/config.js';

// Bodies captured from a real Label Studio 1.23.2 (project token redacted).
const captured = (name: string) => JSON.parse(readFileSync(path.join(REPO_ROOT, 'test/fixtures/label-studio', `${name}.json`), 'utf8'));

describe('parseWebhook on captured Label Studio 1.23 bodies', () => {
  it.each([
    ['ANNOTATION_CREATED', 'annotation', 1],
    ['ANNOTATION_UPDATED', 'annotation', 1],
    ['ANNOTATION_CREATED_skip', 'annotation', 0],
    ['ANNOTATIONS_DELETED', 'annotations_deleted', 1],
    ['TASKS_CREATED', 'tasks_created', 0],
    ['TASKS_DELETED', 'tasks_deleted', 0],
    ['START_TRAINING', 'start_training', 0],
  ])('%s → %s (annotation changes %i)', (file, kind, changes) => {
    const parsed = parseWebhook(captured(file));
    expect(parsed.ignored).toBe(false);
    if (parsed.ignored) return;
    expect(parsed.event.kind).toBe(kind);
    expect(parsed.event.projectId).toBe(1);
    expect(annotationChanges(parsed.event)).toBe(changes);
  });

  it('keeps only what training needs from an annotation event', () => {
    const parsed = parseWebhook(captured('ANNOTATION_CREATED'));
    if (parsed.ignored || parsed.event.kind !== 'annotation') throw new Error('expected an annotation event');
    expect(parsed.event.annotation).toMatchObject({ id: 1, taskId: 1, wasCancelled: false });
    expect(parsed.event.task.data).toHaveProperty('text');
    expect(parsed.event.labelConfig).toMatch(/<Choices/);
    expect(JSON.stringify(parsed.event)).not.toMatch(/redacted|token/);
  });

  it('ignores actions Label Loop does not act on', () => {
    expect(parseWebhook(captured('PROJECT_UPDATED'))).toEqual({ ignored: true, action: 'PROJECT_UPDATED' });
  });
});

describe('dedupKey', () => {
  const created = () => {
    const p = parseWebhook(captured('ANNOTATION_CREATED'));
    if (p.ignored) throw new Error('ignored');
    return p.event;
  };
  it('is the same for a redelivery and differs for a later update', () => {
    expect(dedupKey(created())).toBe(dedupKey(created()));
    const updated = parseWebhook(captured('ANNOTATION_UPDATED'));
    if (updated.ignored) throw new Error('ignored');
    expect(dedupKey(updated.event)).not.toBe(dedupKey(created()));
  });
  it('never merges two START_TRAINING clicks', () => {
    const a = parseWebhook(captured('START_TRAINING'));
    const b = parseWebhook(captured('START_TRAINING'));
    if (a.ignored || b.ignored) throw new Error('ignored');
    expect(dedupKey(a.event)).not.toBe(dedupKey(b.event));
  });
});

describe('parseWebhook rejects malformed bodies naming the field', () => {
  it.each([
    [null, 'body'],
    [{ action: 5 }, 'action'],
    [{ action: 'ANNOTATION_CREATED', project: { id: 1 } }, 'annotation'],
    [{ action: 'ANNOTATION_CREATED', project: { id: 1 }, annotation: { id: 1 }, task: { id: 2 } }, 'task.data'],
    [{ action: 'ANNOTATION_CREATED', project: { id: 1 }, annotation: { id: 1, task: 3 }, task: { id: 2, data: {} } }, 'annotation.task'],
    [{ action: 'ANNOTATIONS_DELETED', project: { id: 1 }, annotations: [{ id: 'x' }] }, 'annotations[0].id'],
    [{ action: 'TASKS_DELETED', tasks: [{ id: 1 }] }, 'project'],
    [{ action: 'START_TRAINING', project: { id: 0 } }, 'project.id'],
  ])('%j → %s', (body, field) => {
    try {
      parseWebhook(body);
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(PayloadError);
      expect((err as PayloadError).field).toBe(field);
    }
  });
});
