/** What the project API's routes share: who asked, whether the project exists, the Temporal side. */
import type { FastifyRequest } from 'fastify';
import { getLabelConfig } from '../../store/index.js';
import type { Db } from '../../store/db.js';
import type { LoopGateway } from '../loopGateway.js';
import { HttpError } from '../errors.js';

export type Loops = Pick<
  LoopGateway,
  | 'status'
  | 'requestRound'
  | 'replayRound'
  | 'changeChampion'
  | 'updateSettings'
  | 'listSchedules'
  | 'createSchedule'
  | 'pauseSchedule'
  | 'resumeSchedule'
  | 'triggerSchedule'
  | 'deleteSchedule'
>;

export interface ProjectApiDeps {
  db: Db;
  /** The Temporal side; absent → routes that need it answer 503. */
  loops?: Loops;
}

export function requireLoops(deps: ProjectApiDeps): Loops {
  if (!deps.loops) throw new HttpError(503, 'Temporal is not configured for this API process', { 'retry-after': '30' });
  return deps.loops;
}

/** A loop is created only for a project Label Loop can train (one that had /setup or a valid config). */
export async function requireProject(db: Db, projectId: number): Promise<void> {
  if (!(await getLabelConfig(db, projectId))) {
    throw new HttpError(404, `project ${projectId} has no label config: connect Label Loop to it first (Label Studio calls /setup)`);
  }
}

/**
 * Who asked, for the record of promotions and rollbacks: the `X-Label-Loop-Actor` header (the
 * CLI sends the operating-system user), else the HTTP Basic user, else "api".
 */
export function actorOf(req: FastifyRequest): string {
  const header = req.headers['x-label-loop-actor'];
  if (typeof header === 'string' && header.trim()) return header.trim().replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
  const auth = req.headers.authorization ?? '';
  if (auth.toLowerCase().startsWith('basic ') && auth.length < 2_048) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const user = decoded.slice(0, Math.max(decoded.indexOf(':'), 0));
    if (user) return user.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
  }
  return 'api';
}
