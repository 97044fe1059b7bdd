/**
 * How the operator commands show the API's replies to a person. Pure functions of the reply, so
 * the tests check them without a server; `--json` bypasses all of this.
 */
import type { LoopStatus, ModelRow, ProjectSummary, RoundProgress, RoundRow, ScheduleInfo } from './apiTypes.js';
import { count, duration, fixed, renderFields, renderTable, when, type Colors } from './output.js';

export interface View {
  colors: Colors;
  /** The terminal's width, when it is one. */
  width?: number;
}

export function outcomeColor(outcome: string, c: Colors): string {
  switch (outcome) {
    case 'promoted':
      return c.green(outcome);
    case 'rejected':
      return c.yellow(outcome);
    case 'failed':
      return c.red(outcome);
    case 'running':
      return c.cyan(outcome);
    default:
      return c.dim(outcome);
  }
}

/** The one-line "why" of a round: the root cause of a failure, the reason of a decision. */
export function roundDetail(r: RoundRow): string {
  const parts: string[] = [];
  if (r.replayOf !== null) parts.push(`replay of ${r.replayOf}`);
  if (r.outcome === 'failed' || (r.outcome === 'replayed' && r.error)) {
    parts.push(r.error ? `${r.error.type}: ${r.error.message}` : 'no cause recorded');
  } else if (r.evidence) {
    parts.push(r.evidence.reason);
  }
  if (r.replayedBy !== null) parts.push(`replayed by ${r.replayedBy}`);
  return parts.join('; ');
}

const roundMs = (r: RoundRow) => (r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : null);

export function formatRounds(rounds: RoundRow[], v: View): string {
  if (rounds.length === 0) return 'no rounds\n';
  return renderTable(
    [{ header: 'ROUND', align: 'right' }, 'OUTCOME', 'TRIGGER', 'MODEL', { header: 'LABELS', align: 'right' }, 'STARTED', { header: 'TOOK', align: 'right' }, 'DETAIL'],
    rounds.map((r) => [
      String(r.round),
      outcomeColor(r.outcome, v.colors),
      r.trigger,
      r.modelVersion ?? '–',
      count(r.trainCount),
      when(r.startedAt),
      r.outcome === 'running' ? '…' : duration(roundMs(r)),
      roundDetail(r),
    ]),
    { maxWidth: v.width, colors: v.colors },
  );
}

export function formatRound(r: RoundRow, v: View): string {
  const c = v.colors;
  const fields: [string, string][] = [
    ['round', `${r.round} of project ${r.projectId}`],
    ['outcome', outcomeColor(r.outcome, c)],
    ['trigger', r.trigger],
    ['model', r.modelVersion ?? '–'],
    ['snapshot', r.snapshotId ?? '–'],
    ['train labels', count(r.trainCount)],
    ['started', when(r.startedAt)],
    ['finished', r.finishedAt ? `${when(r.finishedAt)} (${duration(roundMs(r))})` : '–'],
  ];
  if (r.replayOf !== null) fields.push(['replay of', String(r.replayOf)]);
  if (r.replayedBy !== null) fields.push(['replayed by', String(r.replayedBy)]);
  if (r.error) fields.push(['root cause', c.red(`${r.error.type}: ${r.error.message}`)]);
  if (r.evidence) fields.push(['decision', r.evidence.reason]);
  if (r.progress) fields.push(['progress', progressText(r.progress)]);
  fields.push(['workflow', `${r.workflowId} (run ${r.runId})`]);
  let text = renderFields(fields, c);
  const steps = Object.entries(r.steps ?? {});
  if (steps.length > 0) text += '\n' + renderTable(['STEP', { header: 'TOOK', align: 'right' }], steps.map(([s, { ms }]) => [s, duration(ms)]), { colors: c });
  return text;
}

function nextRound(s: LoopStatus, now: number): string {
  if (s.currentRound !== null) return s.followUpDue || s.trainingRequested ? 'right after the running one' : 'when labels arrive';
  if (s.nextRoundAt === null) return 'when labels arrive';
  const inMs = s.nextRoundAt - now;
  return inMs <= 0 ? 'now' : `${when(new Date(s.nextRoundAt).toISOString())} (in ${duration(inMs)})`;
}

/** "train 12/400 epochs (epoch 12 of 400, loss 0.412)"; a step of unknown size shows its count only. */
export function progressText(p: RoundProgress): string {
  const amount = p.total > 0 ? `${count(p.done)}/${count(p.total)}` : count(p.done);
  return `${p.step} ${amount} ${p.unit}${p.detail ? ` (${p.detail})` : ''}`;
}

export function formatStatus(s: LoopStatus, v: View, now = Date.now()): string {
  const c = v.colors;
  const phase = s.phase === 'training' ? c.cyan(s.phase) : s.phase === 'waiting' ? c.yellow(s.phase) : s.phase;
  let running = '';
  if (s.currentRound !== null) running = ` round ${s.currentRound}${s.progress ? `: ${progressText(s.progress)}` : ''}`;
  const pending = [`${count(s.pendingAnnotations)} annotation changes`, `${count(s.pendingTasks)} task changes`];
  if (s.trainingRequested) pending.push('a round requested');
  if (s.followUpDue) pending.push('a follow-up round due');
  const last = s.lastRound;
  const fields: [string, string][] = [
    ['project', String(s.projectId)],
    ['phase', phase + running],
    ['champion', s.championVersion ?? c.dim('none yet')],
    ['pending', pending.join(', ')],
    ['next round', nextRound(s, now)],
    ['rounds', `${s.roundsStarted} started`],
    [
      'last round',
      last
        ? `${last.round}: ${outcomeColor(last.promoted ? 'promoted' : 'rejected', c)} ${last.modelVersion} (${count(last.trainCount)} labels, ${count(last.auditCount)} audit items; ` +
          `${count(last.predicted)} predicted, ${count(last.pushed)} pushed): ${last.reason}`
        : '–',
    ],
    ['last error', s.lastError ? c.red(s.lastError) : '–'],
  ];
  const settings = [`${s.settings.mode} mode`, `min ${s.settings.minAnnotations} labels`, `quiet ${duration(s.settings.quietPeriodMs)}`, `max wait ${duration(s.settings.maxWaitMs)}`];
  if (s.queued.length > 0) fields.push(['queued', s.queued.join('; ')]);
  fields.push(['settings', settings.join(', ')]);
  return renderFields(fields, c);
}

export function formatProjects(projects: ProjectSummary[], v: View): string {
  if (projects.length === 0) return 'no projects yet (connect one: label-loop connect --project <id>)\n';
  return renderTable(
    [{ header: 'PROJECT', align: 'right' }, 'CHAMPION', { header: 'TASKS', align: 'right' }, { header: 'LABELLED', align: 'right' }, 'MODE', 'SAMPLING', 'LAST ROUND'],
    projects.map((p) => [
      String(p.id),
      p.championVersion ?? '–',
      count(p.tasks),
      count(p.labelled),
      p.mode,
      p.strategy,
      p.lastRound ? `${p.lastRound.round} ${outcomeColor(p.lastRound.outcome, v.colors)} ${when(p.lastRound.finishedAt ?? p.lastRound.startedAt)}` : '–',
    ]),
    { maxWidth: v.width, colors: v.colors },
  );
}

export function formatModels(models: ModelRow[], v: View): string {
  if (models.length === 0) return 'no models yet\n';
  const c = v.colors;
  return renderTable(
    ['VERSION', 'STATUS', { header: 'ACCURACY', align: 'right' }, { header: 'MACRO-F1', align: 'right' }, { header: 'AUDIT N', align: 'right' }, { header: 'TRAINED IN', align: 'right' }, 'CREATED', 'DECISION'],
    models.map((m) => [
      m.status === 'champion' ? c.green(m.version) : m.version,
      m.status === 'champion' ? c.green(m.status) : m.status === 'rejected' ? c.yellow(m.status) : m.status,
      fixed(m.metrics?.accuracy),
      fixed(m.metrics?.macroF1),
      count(m.metrics?.n),
      duration(m.trainMs),
      when(m.createdAt),
      m.decisionReason ?? '–',
    ]),
    { maxWidth: v.width, colors: c },
  );
}

export function scheduleSpec(s: ScheduleInfo): string {
  const spec = s.spec.every ? `every ${s.spec.every}` : s.spec.cron ? `cron "${s.spec.cron}"` : '–';
  return spec + (s.spec.timezone ? ` ${s.spec.timezone}` : '') + (s.spec.jitter ? ` ±${s.spec.jitter}` : '');
}

export function formatSchedules(schedules: ScheduleInfo[], v: View): string {
  if (schedules.length === 0) return 'no schedules\n';
  const c = v.colors;
  return renderTable(
    ['ID', 'WHEN', 'STATE', 'NEXT RUN', 'LAST RUN', 'NOTE'],
    schedules.map((s) => [
      s.id,
      scheduleSpec(s),
      s.paused ? c.yellow('paused') : c.green('active'),
      s.paused ? '–' : when(s.nextRuns[0]),
      when(s.recentRuns[s.recentRuns.length - 1]),
      s.note ?? '',
    ]),
    { maxWidth: v.width, colors: c },
  );
}

export function formatSchedule(s: ScheduleInfo, v: View): string {
  const c = v.colors;
  return renderFields(
    [
      ['schedule', `${s.id} of project ${s.project}`],
      ['when', scheduleSpec(s)],
      ['state', s.paused ? c.yellow('paused') : c.green('active')],
      ['next runs', s.nextRuns.length ? s.nextRuns.slice(0, 3).map(when).join(', ') : '–'],
      ['recent runs', s.recentRuns.length ? s.recentRuns.slice(-3).map(when).join(', ') : '–'],
      ['note', s.note ?? '–'],
    ],
    c,
  );
}
