/**
 * The shapes of Label Loop's operator API as the CLI reads them, taken from the modules that
 * produce them (one source of truth: a change of a reply is a compile error here, not a silent
 * `undefined` in a table). Type-only imports: nothing of the API, the store or Temporal is
 * loaded by the CLI at run time.
 */
export type { RoundRow, RoundRowOutcome as RoundOutcome, RoundEvidence } from '../store/rounds.js';
export type { ModelRow } from '../store/models.js';
export type { ScheduleInfo, ScheduleSpecInput } from '../client/loops.js';
export type { RoundProgress, TrainOverrides } from '../contract/index.js';
export type { ProjectStatus as LoopStatus, ProjectSummary } from '../api/routes/projects.js';
export type { RoundRequestedReply, ReplayRequestedReply } from '../api/routes/rounds.js';
export type { ChampionRequestedReply } from '../api/routes/models.js';
import type { ModelRow } from '../store/models.js';
import type { ScheduleSpecInput } from '../client/loops.js';

/** `GET /api/projects/:id/models`: every model, oldest first, and the champion's version. */
export interface ModelsReply {
  project: number;
  champion: string | null;
  models: ModelRow[];
}

/** The body of `POST /api/projects/:id/schedules` (api/routes/schedules.ts). */
export interface ScheduleRequest extends ScheduleSpecInput {
  /** The schedule's id within the project (default "batch"). */
  id?: string;
  note?: string;
}
