import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/harness.js';
import {
  countTasksToPredict,
  databaseNow,
  deleteUnlisted,
  liveAnnotationPages,
  recordListingPage,
  savePredictions,
  tasksToPredictPage,
  upsertAnnotations,
  upsertTasks,
  type AnnotationRow,
  type Db,
  type PredictionRow,
} from '../../store/index.js';

/** The streaming store functions of large pools (keyset pages, COPY, listings) against PostgreSQL. */
describe('large pools: pages, COPY and listings in PostgreSQL', () => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ db, drop } = await createTestDatabase());
  });
  afterAll(async () => drop?.());

  const annotation = (id: number, projectId: number, taskId: number, label = 'spam'): AnnotationRow => ({
    id,
    projectId,
    taskId,
    result: [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [label] } }],
    wasCancelled: false,
    sourceUpdatedAt: null,
  });

  it('stores a confident model\'s probabilities below float4\'s range (as 0) instead of failing the COPY', async () => {
    await upsertTasks(db, [7].map((id) => ({ id, projectId: 9, data: { text: `t${id}` } })));
    await savePredictions(db, 9, 'v9', [{ taskId: 7, labels: ['a'], probabilities: [1, 3.884088077823544e-76, 1e-39, 2e-38], score: 1, leastConfidence: 0, margin: 1, entropy: 0 }]);
    const { rows } = await db.query('SELECT probabilities FROM predictions WHERE model_version = $1', ['v9']);
    expect(rows[0].probabilities[0]).toBe(1);
    expect(rows[0].probabilities.slice(1, 3)).toEqual([0, 0]);
    expect(rows[0].probabilities[3]).toBeCloseTo(2e-38, 44);
  });

  it('writes predictions with COPY (odd text survives), and a page written twice stays once', async () => {
    await upsertTasks(db, [1, 2, 3].map((id) => ({ id, projectId: 1, data: { text: `t${id}` } })));
    const rows: PredictionRow[] = [1, 2, 3].map((taskId) => ({
      taskId,
      labels: ['a "quoted"\tlabel', 'back\\slash'],
      probabilities: [0.25, 0.75],
      score: 0.75,
      leastConfidence: 0.25,
      margin: 0.5,
      entropy: NaN,
    }));
    await savePredictions(db, 1, 'v1', rows);
    await savePredictions(db, 1, 'v1', rows); // unique violation → the ON CONFLICT path
    const { rows: stored } = await db.query('SELECT task_id, labels, probabilities, entropy FROM predictions WHERE model_version = $1 ORDER BY task_id', ['v1']);
    expect(stored).toHaveLength(3);
    expect(stored[0]).toMatchObject({ task_id: 1, labels: ['a "quoted"\tlabel', 'back\\slash'], probabilities: [0.25, 0.75], entropy: NaN });
  });

  it('pages the tasks to predict by id, unlabelled first, without the ones already predicted', async () => {
    await upsertTasks(db, [10, 11, 12, 13, 14].map((id) => ({ id, projectId: 2, data: { text: `t${id}` } })));
    await upsertAnnotations(db, [annotation(100, 2, 11)]);
    await savePredictions(db, 2, 'v2', [{ taskId: 13, labels: ['x'], probabilities: [1], score: 1, leastConfidence: 0, margin: 1, entropy: 0 }]);
    expect(await countTasksToPredict(db, 2, 'v2')).toBe(4);
    const page1 = await tasksToPredictPage(db, 2, 'v2', { labelled: false, afterId: 0, limit: 2 });
    const page2 = await tasksToPredictPage(db, 2, 'v2', { labelled: false, afterId: page1.at(-1)!.id, limit: 2 });
    const labelled = await tasksToPredictPage(db, 2, 'v2', { labelled: true, afterId: 0, limit: 2 });
    expect([page1, page2, labelled].map((p) => p.map((t) => t.id))).toEqual([[10, 12], [14], [11]]);
  });

  it('reads live annotations in pages that never split a task, from one consistent view', async () => {
    await upsertTasks(db, [20, 21, 22].map((id) => ({ id, projectId: 3, data: { text: `t${id}` } })));
    await upsertAnnotations(db, [annotation(200, 3, 20), annotation(201, 3, 21), annotation(202, 3, 21, 'ham'), annotation(203, 3, 21), annotation(204, 3, 22)]);
    const pages: number[][] = [];
    for await (const page of liveAnnotationPages(db, 3, 2)) pages.push(page.map((a) => a.annotationId));
    expect(pages.flat()).toEqual([200, 201, 202, 203, 204]);
    for (const page of pages) expect(page.length).toBeGreaterThan(0);
    // Task 21's three annotations are in one page.
    expect(pages.filter((p) => p.includes(201) || p.includes(202) || p.includes(203))).toHaveLength(1);
    // A consumer that stops early leaves no open transaction behind.
    for await (const _page of liveAnnotationPages(db, 3, 1)) break;
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`);
    expect(rows[0].n).toBe(0);
  });

  it('reconciles page by page: what the listing lacked is deleted, rows recorded after it started are kept', async () => {
    await upsertTasks(db, [30, 31, 32].map((id) => ({ id, projectId: 4, data: { text: `t${id}` } })));
    await upsertAnnotations(db, [annotation(300, 4, 30), annotation(301, 4, 31)]);
    const since = await databaseNow(db);
    // A webhook recorded while the listing is read: not in the listing, not deleted.
    await upsertTasks(db, [{ id: 33, projectId: 4, data: { text: 'late' } }]);
    const listing = 'listing-test';
    await recordListingPage(db, listing, 4, { tasks: [{ id: 30, projectId: 4, data: { text: 't30' } }], annotations: [annotation(300, 4, 30)] });
    await recordListingPage(db, listing, 4, { tasks: [{ id: 32, projectId: 4, data: { text: 't32 changed' } }], annotations: [] });
    expect(await deleteUnlisted(db, listing, 4, since)).toEqual({ tasksDeleted: 1, annotationsDeleted: 1 });
    const { rows } = await db.query('SELECT id, deleted FROM tasks WHERE project_id = 4 ORDER BY id');
    expect(rows).toEqual([
      { id: 30, deleted: false },
      { id: 31, deleted: true },
      { id: 32, deleted: false },
      { id: 33, deleted: false },
    ]);
    expect((await db.query('SELECT count(*)::int AS n FROM listed_ids WHERE listing = $1', [listing])).rows[0].n).toBe(0);
  });
});
