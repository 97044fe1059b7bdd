/**
 * A project with a trained champion, made by the round's own activities (export → train →
 * evaluate → promote, through Temporal's MockActivityEnvironment) on SpamAssassin e-mails: what
 * the /predict and loop benchmarks start from, without a worker.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.js';
import { toIntakeItem } from '../../api/eventIntake.js';
import type { LoopEvent } from '../../labelstudio/webhooks.js';
import { loadSpamAssassin } from '../../model/spamAssassin.js';
import { recordEvents, saveLabelConfig, withTransaction, type Db } from '../../store/index.js';
import { loadConfig } from '../../worker/config.js';
import { createLogger } from '../../worker/logging.js';
import { initBackend } from '../../model/backend.js';
import { SPAM_CONFIG } from './fakeLabelStudio.js';

/** `tasks` tasks (ids firstTaskId…), the first `labels` of them annotated; returns the champion's version. */
export async function projectWithChampion(db: Db, opts: { projectId: number; tasks: number; labels: number; firstTaskId: number }): Promise<string> {
  const { projectId, tasks, labels, firstTaskId } = opts;
  const emails = loadSpamAssassin();
  await saveLabelConfig(db, projectId, SPAM_CONFIG, 'setup');
  const email = (i: number) => emails[(i * 7919) % emails.length];
  const events: LoopEvent[] = [
    { kind: 'tasks_created', action: 'TASKS_CREATED', projectId, tasks: Array.from({ length: tasks }, (_, i) => ({ id: firstTaskId + i, data: { text: email(i).text } })) },
  ];
  for (let i = 0; i < labels; i++) {
    const id = firstTaskId + i;
    events.push({
      kind: 'annotation',
      action: 'ANNOTATION_CREATED',
      projectId,
      task: { id, data: { text: email(i).text } },
      annotation: { id, taskId: id, result: [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [email(i).label] } }], wasCancelled: false, updatedAt: new Date().toISOString() },
    });
  }
  await withTransaction(db, (c) => recordEvents(c, events.map(toIntakeItem)));
  await initBackend();
  const config = loadConfig({});
  const acts = createActivities({ db, config: config.round, log: createLogger({ log: { level: 'warn', format: 'json' } }, 'bench') });
  const env = new MockActivityEnvironment();
  const snap = (await env.run(acts.exportSnapshot, { projectId, roundKey: `bench-${projectId}` })) as { snapshotId: string };
  const { modelVersion } = (await env.run(acts.trainCandidate, { projectId, snapshotId: snap.snapshotId, round: 1 })) as { modelVersion: string };
  await env.run(acts.evaluateCandidate, { projectId, modelVersion });
  const decision = (await env.run(acts.promoteIfBetter, { projectId, modelVersion })) as { promoted: boolean; reason: string };
  if (!decision.promoted) throw new Error(`the bench model was not promoted: ${decision.reason}`);
  return modelVersion;
}

/** Texts of `n` SpamAssassin e-mails, as /predict bodies carry them. */
export function emailTexts(n: number, offset = 0): string[] {
  const emails = loadSpamAssassin();
  return Array.from({ length: n }, (_, i) => emails[(offset + i * 7919) % emails.length].text);
}
