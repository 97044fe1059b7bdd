import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import { createProgressSink } from './progress.js';
import { createActivities } from '../activities/index.js';
import { LabelStudioClient } from '../labelstudio/client.js';
import type { Db } from '../store/db.js';
import type { Config } from './config.js';
import { REPO_ROOT } from './config.js';
import { taskQueueOf, type WorkerQueueRole } from '../contract/index.js';

export const WORKFLOWS_PATH = path.join(REPO_ROOT, 'workflows', 'index.ts');

/** Label Studio's API for activities, when LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are set. */
export function labelStudioClient(config: Config): LabelStudioClient | undefined {
  return config.labelStudio ? new LabelStudioClient({ url: config.labelStudio.url, apiKey: config.labelStudio.apiKey }) : undefined;
}

/** The Temporal workers of one process, one per task queue it polls, run and stopped together. */
export interface LoopWorkers {
  /** role → its queue's worker (only the roles this process polls). */
  readonly workers: Partial<Record<WorkerQueueRole, Worker>>;
  /** The queues polled, e.g. `label-loop, label-loop-compute, label-loop-io`. */
  readonly queues: string[];
  /** Runs every worker; when one stops or fails, the others are shut down too. */
  run(): Promise<void>;
  shutdown(): void;
}

/**
 * Options per queue (README "Scaling out"). Measured on 2 cores (BENCHMARKS.md "Compute
 * concurrency"): two trainings in one Node process take as long as one after the other, so a
 * process runs `computeConcurrency` (1) compute activity and more compute means more processes.
 * I/O activities mostly wait on PostgreSQL and Label Studio, so many run at once beside it.
 */
function queueOptions(role: WorkerQueueRole, config: Config): Partial<WorkerOptions> {
  // A graceful stop lets the current epoch, chunk or page finish; a killed worker's activities
  // are retried elsewhere after their heartbeat timeout (workflows/profiles.ts).
  const shutdownGraceTime = '10 seconds';
  switch (role) {
    case 'workflows':
      return {
        // Workflow tasks are short and deterministic; the sticky cache saves replays. After a
        // worker dies, its cached executions continue on another worker once the sticky
        // queue's schedule-to-start timeout passes.
        maxConcurrentWorkflowTaskExecutions: 40,
        ...(config.worker.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: config.worker.maxCachedWorkflows } : {}),
        stickyQueueScheduleToStartTimeout: '5 seconds',
        // Activities left on the workflow queue by rounds started before the queues were split
        // (a rolling upgrade) still run here; new rounds never schedule any.
        maxConcurrentActivityTaskExecutions: 1,
        shutdownGraceTime,
      };
    case 'compute':
      return { maxConcurrentActivityTaskExecutions: config.worker.computeConcurrency, maxConcurrentActivityTaskPolls: 1, shutdownGraceTime };
    case 'io':
      return { maxConcurrentActivityTaskExecutions: config.worker.ioConcurrency, shutdownGraceTime };
  }
}

/**
 * The Temporal workers for the queues this process polls (LABEL_LOOP_WORKER_QUEUES, all three by
 * default): the loop and round workflows on TEMPORAL_TASK_QUEUE, compute activities on
 * `<queue>-compute`, I/O activities on `<queue>-io`. They share one connection.
 */
export async function createLoopWorkers(args: {
  connection: NativeConnection;
  /** For the signals activities send: progress to rounds, schedules' requests to loops. */
  client: Client;
  config: Config;
  db: Db;
  log: Logger;
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Overrides LABEL_LOOP_WORKER_QUEUES (tests). */
  roles?: WorkerQueueRole[];
}): Promise<LoopWorkers> {
  const { config, client } = args;
  const roles = args.roles ?? config.worker.queues;
  const bundle = args.workflowBundle ?? (config.temporal.workflowBundle ? { codePath: config.temporal.workflowBundle } : undefined);
  const activities = createActivities({
    db: args.db,
    labelStudio: labelStudioClient(config),
    config: config.round,
    log: args.log,
    progress: createProgressSink(args.db, client, args.log),
    loops: { client, taskQueue: config.temporal.taskQueue, settings: config.debounce },
  });
  const workers: Partial<Record<WorkerQueueRole, Worker>> = {};
  for (const role of roles) {
    workers[role] = await Worker.create({
      connection: args.connection,
      namespace: config.temporal.namespace,
      taskQueue: taskQueueOf(config.temporal.taskQueue, role),
      ...(role === 'workflows' ? (bundle ? { workflowBundle: bundle } : { workflowsPath: WORKFLOWS_PATH }) : {}),
      // Every activity on every activity queue: a queue's kind decides what is scheduled there.
      activities,
      ...queueOptions(role, config),
    });
  }
  const all = Object.values(workers);
  const shutdown = () => {
    for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    workers,
    queues: roles.map((r) => taskQueueOf(config.temporal.taskQueue, r)),
    shutdown,
    async run() {
      const runs = all.map((w) =>
        w.run().finally(() => {
          shutdown();
        }),
      );
      const results = await Promise.allSettled(runs);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
  };
}
