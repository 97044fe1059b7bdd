import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import type { ProjectSync } from '../activities/projectSync.js';
import type { Db } from '../store/db.js';
import type { Config } from './config.js';
import { REPO_ROOT } from './config.js';

export const WORKFLOWS_PATH = path.join(REPO_ROOT, 'workflows', 'index.ts');

/**
 * A Temporal worker for the loop and round workflows and their activities. Training is
 * CPU-bound, so one process runs one compute activity at a time; workflows are cheap.
 */
export async function createLoopWorker(args: {
  connection: NativeConnection;
  config: Config;
  db: Db;
  projectSync?: ProjectSync;
  workflowBundle?: WorkerOptions['workflowBundle'];
}): Promise<Worker> {
  const { config } = args;
  return Worker.create({
    connection: args.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(args.workflowBundle ? { workflowBundle: args.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ db: args.db, config: config.round, projectSync: args.projectSync }),
    maxConcurrentActivityTaskExecutions: 2,
    // A killed worker's activities are retried elsewhere after their heartbeat timeout; a
    // graceful stop lets the current epoch or chunk finish first.
    shutdownGraceTime: '10 seconds',
  });
}

