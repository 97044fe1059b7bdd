import { createHash, randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { isLabelConfigError, LabelConfigSyntaxError, parseLabelConfig } from './labelConfig.js';

/**
 * Label Studio webhook bodies, normalised to what Label Loop keeps. Label Studio sends each
 * webhook once, with a 1 s timeout and no retry, so parsing is strict about the fields we need
 * and lenient about everything else (extra fields are ignored, never stored).
 */
export type LoopEvent =
  | {
      kind: 'annotation';
      action: 'ANNOTATION_CREATED' | 'ANNOTATION_UPDATED';
      projectId: number;
      labelConfig?: string;
      task: TaskRecord;
      annotation: AnnotationRecord;
    }
  | { kind: 'annotations_deleted'; action: 'ANNOTATIONS_DELETED'; projectId: number; annotationIds: number[] }
  | { kind: 'tasks_created'; action: 'TASKS_CREATED'; projectId: number; labelConfig?: string; tasks: TaskRecord[] }
  | { kind: 'tasks_deleted'; action: 'TASKS_DELETED'; projectId: number; taskIds: number[] }
  | { kind: 'start_training'; action: 'START_TRAINING'; projectId: number; labelConfig?: string };

/**
 * JSON Schema of the webhook bodies Label Loop acts on (Label Studio 1.23 sends many more fields;
 * they are allowed and ignored). Checked by fastify's Ajv before the handler runs, so malformed
 * bodies get a 400 naming the field; `parseWebhook` then normalises what passed.
 */
const Id = Type.Union([Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), Type.String({ pattern: '^[1-9][0-9]{0,15}$' })], {
  description: 'a positive integer id',
});
const IdOrObject = Type.Union([Id, Type.Object({ id: Id })], { description: 'an id or an object with an id' });
const ProjectRef = Type.Union([Id, Type.Object({ id: Id, label_config: Type.Optional(Type.String({ maxLength: 1_048_576 })) })], {
  description: 'a project id or an object with an id',
});
const TaskBody = Type.Object({ id: Id, data: Type.Object({}, { description: 'an object' }) });
const IsoDate = Type.String({ format: 'date-time', description: 'an ISO 8601 date-time' });
const MAX_IDS = 1_000_000;

const whenAction = (actions: string[], then: Record<string, unknown>, required: string[]) => ({
  if: { type: 'object', properties: { action: { enum: actions } }, required: ['action'] },
  then: { type: 'object', properties: then, required },
});

export const WEBHOOK_BODY_SCHEMA = {
  type: 'object',
  description: 'a JSON object',
  required: ['action'],
  properties: { action: Type.String({ minLength: 1, maxLength: 100 }) },
  allOf: [
    whenAction(
      ['ANNOTATION_CREATED', 'ANNOTATION_UPDATED'],
      {
        annotation: Type.Object(
          {
            id: Id,
            task: Type.Optional(IdOrObject),
            result: Type.Optional(Type.Union([Type.Array(Type.Unknown(), { maxItems: 10_000 }), Type.Null()], { description: 'an array' })),
            was_cancelled: Type.Optional(Type.Boolean()),
            updated_at: Type.Optional(Type.Union([IsoDate, Type.Null()], { description: 'an ISO 8601 date-time' })),
          },
          { description: 'an object' },
        ),
        task: Type.Object({ id: Id, data: Type.Object({}, { description: 'an object' }) }, { description: 'an object' }),
        project: Type.Optional(ProjectRef),
      },
      ['annotation', 'task'],
    ),
    whenAction(['ANNOTATIONS_DELETED'], { annotations: Type.Array(IdOrObject, { maxItems: MAX_IDS }), project: ProjectRef }, ['annotations', 'project']),
    whenAction(['TASKS_CREATED'], { tasks: Type.Array(TaskBody, { maxItems: MAX_IDS }), project: Type.Optional(ProjectRef) }, ['tasks']),
    whenAction(['TASKS_DELETED'], { tasks: Type.Array(IdOrObject, { maxItems: MAX_IDS }), project: ProjectRef }, ['tasks', 'project']),
    whenAction(['START_TRAINING'], { project: ProjectRef }, ['project']),
  ],
} as const;

export interface TaskRecord {
  id: number;
  data: Record<string, unknown>;
}

export interface AnnotationRecord {
  id: number;
  taskId: number;
  result: unknown[];
  wasCancelled: boolean;
  /** ISO time from Label Studio; an older update never overwrites a newer one. */
  updatedAt?: string;
}

export type ParsedWebhook = { ignored: false; event: LoopEvent } | { ignored: true; action: string };

/** A 400: the message names the offending field. */
export class PayloadError extends Error {
  override name = 'PayloadError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** A positive safe integer from a number or a string of digits, else a PayloadError naming `field`. */
export function positiveId(value: unknown, field: string): number {
  const n = typeof value === 'string' && value.length <= 20 && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) {
    throw new PayloadError(field, 'must be a positive integer id');
  }
  return n;
}

/**
 * `project` is an object with an `id` in annotation/task events and may be a bare id in
 * `START_TRAINING`; `/setup` and `/predict` send "<id>.<created_unix>".
 */
export function projectIdOf(value: unknown, field = 'project'): number {
  if (isObject(value)) return positiveId(value.id, `${field}.id`);
  if (typeof value === 'string' && value.length <= 40 && /^[0-9]+(\.[0-9]+)?$/.test(value)) return positiveId(value.split('.')[0], field);
  if (value === undefined || value === null) throw new PayloadError(field, 'is required');
  return positiveId(value, field);
}

/**
 * The project's label config from the event, when it is one Label Loop can train on. Malformed
 * or hostile XML is a 400 naming the field; a well-formed config we cannot train on (an image
 * project, two <Choices>) is left out, so it never replaces a project's working config: the
 * event is still recorded, and the next round's reconciliation reports the config's problem.
 */
function labelConfigOf(project: unknown): string | undefined {
  if (!isObject(project) || typeof project.label_config !== 'string') return undefined;
  try {
    parseLabelConfig(project.label_config);
    return project.label_config;
  } catch (err) {
    if (err instanceof LabelConfigSyntaxError) throw new PayloadError('project.label_config', err.message);
    if (isLabelConfigError(err)) return undefined;
    throw err;
  }
}

function taskOf(value: unknown, field: string): TaskRecord {
  if (!isObject(value)) throw new PayloadError(field, 'must be an object');
  if (!isObject(value.data)) throw new PayloadError(`${field}.data`, 'must be an object');
  return { id: positiveId(value.id, `${field}.id`), data: value.data };
}

function idList(value: unknown, field: string): number[] {
  if (!Array.isArray(value)) throw new PayloadError(field, 'must be an array');
  return value.map((item, i) => positiveId(isObject(item) ? item.id : item, `${field}[${i}].id`));
}

export const TRAIN_ACTIONS = [
  'ANNOTATION_CREATED',
  'ANNOTATION_UPDATED',
  'ANNOTATIONS_DELETED',
  'TASKS_CREATED',
  'TASKS_DELETED',
  'START_TRAINING',
] as const;

/** Validates a webhook body. Unknown actions are `ignored`; malformed known ones throw PayloadError. */
export function parseWebhook(body: unknown): ParsedWebhook {
  if (!isObject(body)) throw new PayloadError('body', 'must be a JSON object');
  const action = body.action;
  if (typeof action !== 'string' || action === '') throw new PayloadError('action', 'is required');

  switch (action) {
    case 'ANNOTATION_CREATED':
    case 'ANNOTATION_UPDATED': {
      const a = body.annotation;
      if (!isObject(a)) throw new PayloadError('annotation', 'is required and must be an object');
      const task = taskOf(body.task, 'task');
      const taskId = a.task === undefined ? task.id : positiveId(isObject(a.task) ? a.task.id : a.task, 'annotation.task');
      if (taskId !== task.id) throw new PayloadError('annotation.task', `is ${taskId} but task.id is ${task.id}`);
      if (a.result !== undefined && a.result !== null && !Array.isArray(a.result)) {
        throw new PayloadError('annotation.result', 'must be an array');
      }
      const projectId = projectIdOf(body.project ?? a.project, body.project === undefined ? 'annotation.project' : 'project');
      return {
        ignored: false,
        event: {
          kind: 'annotation',
          action,
          projectId,
          labelConfig: labelConfigOf(body.project),
          task,
          annotation: {
            id: positiveId(a.id, 'annotation.id'),
            taskId,
            result: (a.result as unknown[] | undefined) ?? [],
            wasCancelled: a.was_cancelled === true,
            updatedAt: typeof a.updated_at === 'string' ? a.updated_at : undefined,
          },
        },
      };
    }
    case 'ANNOTATIONS_DELETED':
      return {
        ignored: false,
        event: { kind: 'annotations_deleted', action, projectId: projectIdOf(body.project), annotationIds: idList(body.annotations, 'annotations') },
      };
    case 'TASKS_CREATED': {
      if (!Array.isArray(body.tasks)) throw new PayloadError('tasks', 'must be an array');
      const tasks = body.tasks.map((t, i) => taskOf(t, `tasks[${i}]`));
      const projectId = projectIdOf(body.project ?? (body.tasks[0] as Record<string, unknown> | undefined)?.project);
      return { ignored: false, event: { kind: 'tasks_created', action, projectId, labelConfig: labelConfigOf(body.project), tasks } };
    }
    case 'TASKS_DELETED':
      return { ignored: false, event: { kind: 'tasks_deleted', action, projectId: projectIdOf(body.project), taskIds: idList(body.tasks, 'tasks') } };
    case 'START_TRAINING':
      return { ignored: false, event: { kind: 'start_training', action, projectId: projectIdOf(body.project), labelConfig: labelConfigOf(body.project) } };
    default:
      return { ignored: true, action };
  }
}

/**
 * Key under which a redelivered event is recognised. Label Studio sends no delivery id, so the
 * key is derived from the content that makes an event distinct. A START_TRAINING click has no
 * natural identity: each one counts.
 */
export function dedupKey(event: LoopEvent): string {
  const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 40);
  switch (event.kind) {
    case 'annotation': {
      const a = event.annotation;
      const version = a.updatedAt ?? hash(JSON.stringify([a.result, a.wasCancelled]));
      return `${event.action}:${a.id}:${version}`;
    }
    case 'annotations_deleted':
      return `${event.action}:${hash([...event.annotationIds].sort((x, y) => x - y).join(','))}`;
    case 'tasks_created':
      return `${event.action}:${hash(JSON.stringify(event.tasks.map((t) => [t.id, t.data])))}`;
    case 'tasks_deleted':
      return `${event.action}:${hash([...event.taskIds].sort((x, y) => x - y).join(','))}`;
    case 'start_training':
      return `${event.action}:${event.projectId}:${randomUUID()}`;
  }
}

/** How many labelled examples an event may change (0 for cancelled annotations: skips are not labels). */
export function annotationChanges(event: LoopEvent): number {
  switch (event.kind) {
    case 'annotation':
      return event.annotation.wasCancelled ? 0 : 1;
    case 'annotations_deleted':
      return event.annotationIds.length;
    default:
      return 0;
  }
}
