import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/harness.js';
import {
  rankStrategyTasks,
  savePredictions,
  setQueueScores,
  strategyScoreDistribution,
  unlabelledQueues,
  unrankedAuditTasks,
  upsertAnnotations,
  upsertTasks,
  type Db,
} from '../../store/index.js';
import { AUDIT_SALT, draw, isAudit, ORDER_SALT } from '../../dataset/audit.js';
import { auditScore, interleave } from '../../policies/sampling.js';

/** The audit stream and the serving queue in PostgreSQL: the SQL draw is the TypeScript one, and the queue interleaves. */
describe('audit stream and serving queue in PostgreSQL', () => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ db, drop } = await createTestDatabase());
  });
  afterAll(async () => drop?.());

  it('label_loop_draw in SQL gives exactly the draw of dataset/audit.ts', async () => {
    const cases = Array.from({ length: 3_000 }, (_, i) => ({ project: 1 + (i % 7) * 1_000_003, task: 1 + i * 7_919, salt: 1 + (i % 4) }));
    cases.push({ project: Number.MAX_SAFE_INTEGER, task: Number.MAX_SAFE_INTEGER, salt: 2 });
    const { rows } = await db.query<{ d: number }>(
      'SELECT label_loop_draw(p, t, s) AS d FROM unnest($1::bigint[], $2::bigint[], $3::int[]) WITH ORDINALITY AS x(p, t, s, i) ORDER BY i',
      [cases.map((c) => c.project), cases.map((c) => c.task), cases.map((c) => c.salt)],
    );
    expect(rows.map((r) => r.d)).toEqual(cases.map((c) => draw(c.project, c.task, c.salt)));
  });

  it('ranks a version\'s predictions: strategy tasks by margin, audit tasks dealt in at random quantiles, labelled tasks last', async () => {
    const projectId = 77;
    const share = 0.25;
    const ids = Array.from({ length: 800 }, (_, i) => 10_000 + i);
    await upsertTasks(db, ids.map((id) => ({ id, projectId, data: { text: `t${id}` } })));
    const labelled = ids.slice(0, 40);
    await upsertAnnotations(
      db,
      labelled.map((taskId, i) => ({ id: 50_000 + i, projectId, taskId, result: [], wasCancelled: false, sourceUpdatedAt: null })),
    );
    // Margins skewed towards certainty, as a trained model's are.
    const margin = (id: number) => draw(projectId, id, 9) ** 0.2;
    await savePredictions(
      db,
      projectId,
      'v1',
      ids.map((taskId) => ({ taskId, labels: ['a'], probabilities: [1, 0], score: (1 + margin(taskId)) / 2, leastConfidence: (1 - margin(taskId)) / 2, margin: margin(taskId), entropy: 0.1 })),
    );

    const ranked = await rankStrategyTasks(db, projectId, 'v1', share, 'margin', Math.LN2);
    const unlabelled = ids.filter((id) => !labelled.includes(id));
    const audit = unlabelled.filter((id) => isAudit(projectId, id, share));
    expect(ranked).toBe(unlabelled.length - audit.length);
    const distribution = await strategyScoreDistribution(db, projectId, 'v1', share);
    expect([...distribution]).toEqual(unlabelled.filter((id) => !audit.includes(id)).map(margin).sort((a, b) => a - b));
    const unranked = await unrankedAuditTasks(db, projectId, 'v1', share);
    expect(unranked.map((a) => a.taskId).sort()).toEqual(audit.sort());
    expect(unranked.every((a) => a.draw === draw(projectId, a.taskId, ORDER_SALT))).toBe(true);
    await setQueueScores(db, 'v1', unranked.map((a) => ({ taskId: a.taskId, score: auditScore(distribution, a.draw) })));

    const { rows } = await db.query<{ task_id: string; queue_score: number }>('SELECT task_id, queue_score FROM predictions WHERE model_version = $1 ORDER BY queue_score, task_id', ['v1']);
    const score = new Map(rows.map((r) => [Number(r.task_id), r.queue_score]));
    for (const id of labelled) expect(score.get(id)).toBe(1);
    for (const id of unlabelled) if (!audit.includes(id)) expect(score.get(id)).toBeCloseTo(margin(id), 12);
    // Served lowest first, about a quarter of any long prefix is audit (binomial: within 4 sd).
    const order = rows.map((r) => Number(r.task_id)).filter((id) => !labelled.includes(id));
    for (const n of [100, 200, 400]) {
      const a = order.slice(0, n).filter((id) => audit.includes(id)).length;
      expect(Math.abs(a - n * (audit.length / unlabelled.length))).toBeLessThan(4 * Math.sqrt(n * share * (1 - share)));
    }
    // Ranking again moves nothing (idempotent: only unranked predictions are placed).
    expect(await rankStrategyTasks(db, projectId, 'v1', share, 'margin', Math.LN2)).toBe(0);
    expect(await unrankedAuditTasks(db, projectId, 'v1', share)).toEqual([]);
  });

  it('next-tasks queues: the strategy\'s order and the audit tasks in their random order, then interleaved', async () => {
    const projectId = 77;
    const { strategy, audit } = await unlabelledQueues(db, projectId, 'v1', 0.25, 'p.margin ASC', 50);
    expect(strategy.every((t) => !t.audit && !isAudit(projectId, t.taskId, 0.25))).toBe(true);
    expect(audit.every((t) => t.audit && isAudit(projectId, t.taskId, 0.25))).toBe(true);
    const margins = strategy.map((t) => t.margin!);
    expect(margins).toEqual([...margins].sort((a, b) => a - b));
    const draws = audit.map((t) => draw(projectId, t.taskId, ORDER_SALT));
    expect(draws).toEqual([...draws].sort((a, b) => a - b));
    expect(interleave(strategy, audit, 0.25, 20).filter((t) => t.audit)).toHaveLength(5);
    // The audit order is an index scan, not an md5 per task.
    const plan = (await db.query('EXPLAIN SELECT id FROM tasks t WHERE t.project_id = 77 ORDER BY t.order_draw LIMIT 10')).rows.map((r) => Object.values(r)[0]).join('\n');
    expect(plan).toMatch(/tasks_order_draw/);
    // The stored draws are the function's.
    const { rows: stored } = await db.query('SELECT id, audit_draw, order_draw FROM tasks WHERE project_id = 77 ORDER BY id LIMIT 50');
    for (const r of stored) {
      expect(r.audit_draw).toBe(draw(projectId, Number(r.id), AUDIT_SALT));
      expect(r.order_draw).toBe(draw(projectId, Number(r.id), ORDER_SALT));
    }
  });
});
