/**
 * Webhook bodies shaped as Label Studio 1.23 sends them (see test/fixtures/label-studio/ for
 * captured originals), for tests that drive /webhook without a Label Studio.
 */
export const SPAM_CONFIG = `<View>
  <Text name="text" value="$text"/>
  <Choices name="label" toName="text" choice="single">
    <Choice value="spam"/>
    <Choice value="ham"/>
  </Choices>
</View>`;

export interface TestTask {
  id: number;
  data: Record<string, unknown>;
}

const project = (projectId: number, labelConfig = SPAM_CONFIG) => ({
  id: projectId,
  title: `project ${projectId}`,
  label_config: labelConfig,
  task_number: 0,
});

export function tasksCreated(projectId: number, tasks: TestTask[], labelConfig?: string) {
  return {
    action: 'TASKS_CREATED',
    tasks: tasks.map((t) => ({ id: t.id, data: t.data, meta: {}, project: projectId, is_labeled: false })),
    project: project(projectId, labelConfig),
  };
}

export function annotationEvent(
  action: 'ANNOTATION_CREATED' | 'ANNOTATION_UPDATED',
  projectId: number,
  task: TestTask,
  annotationId: number,
  labels: string[],
  opts: { wasCancelled?: boolean; updatedAt?: string; fromName?: string; toName?: string; labelConfig?: string } = {},
) {
  const now = opts.updatedAt ?? new Date().toISOString();
  return {
    action,
    annotation: {
      id: annotationId,
      result: opts.wasCancelled
        ? []
        : [{ id: `r${annotationId}`, type: 'choices', value: { choices: labels }, origin: 'manual', to_name: opts.toName ?? 'text', from_name: opts.fromName ?? 'label' }],
      was_cancelled: opts.wasCancelled ?? false,
      ground_truth: false,
      created_at: now,
      updated_at: now,
      lead_time: 3.2,
      task: task.id,
      project: projectId,
      completed_by: 1,
    },
    task: { id: task.id, data: task.data, meta: {}, project: projectId, is_labeled: true },
    project: project(projectId, opts.labelConfig),
  };
}

export function annotationsDeleted(projectId: number, annotationIds: number[]) {
  return { action: 'ANNOTATIONS_DELETED', annotations: annotationIds.map((id) => ({ id })), project: project(projectId) };
}

export function tasksDeleted(projectId: number, taskIds: number[]) {
  return { action: 'TASKS_DELETED', tasks: taskIds.map((id) => ({ id })), project: project(projectId) };
}

export function startTraining(projectId: number) {
  return { action: 'START_TRAINING', project: project(projectId) };
}
