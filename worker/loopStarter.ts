/**
 * Starts a project's loop from a process that is not the API (`label-loop connect`), through
 * the same gateway the API uses, so the loop gets the same id, task queue, settings and search
 * attributes as one started by a webhook. No workflow code is imported.
 */
import { Client, Connection } from '@temporalio/client';
import { ensureLoopRunning } from '../client/loops.js';
import { loopWorkflowId } from '../contract/index.js';
import type { Config } from './config.js';
import { temporalConnectionOptions } from './temporalConnection.js';

/** Temporal could not be reached or refused: the message says where and why. */
export class LoopStartError extends Error {
  override name = 'LoopStartError';
}

/** The address the stack's Temporal listens on: TEMPORAL_ADDRESS, else the dev server's. */
export const temporalAddressOf = (config: Config) => config.temporal.address ?? `127.0.0.1:${config.temporal.port}`;

/** Starts (or finds running) the loop of `projectId`; resolves to its workflow id. */
export async function startProjectLoop(config: Config, projectId: number, opts: { connectTimeoutMs?: number } = {}): Promise<string> {
  const address = temporalAddressOf(config);
  const options = config.temporal.address ? temporalConnectionOptions(config.temporal) : { address };
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: opts.connectTimeoutMs ?? 5_000 });
  } catch (err) {
    throw new LoopStartError(`cannot reach Temporal at ${address} (${(err as Error).message.slice(0, 160)}); is \`npm run stack\` running?`);
  }
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    await ensureLoopRunning({ client, taskQueue: config.temporal.taskQueue, settings: config.debounce }, projectId);
    return loopWorkflowId(projectId);
  } catch (err) {
    throw new LoopStartError(`Temporal at ${address} did not start the loop: ${(err as Error).message.slice(0, 200)}`);
  } finally {
    await connection.close();
  }
}
