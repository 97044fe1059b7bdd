/**
 * Label Studio's ML-backend protocol: /health, /setup, /predict, /versions
 * (see ../shared/reference/label-studio.md §1). Serves the champion from memory.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseLabelConfig, taskText } from '../../labelstudio/labelConfig.js';
import { PayloadError, projectIdOf } from '../../labelstudio/webhooks.js';
import { toLabelStudioPrediction } from '../../labelstudio/predictions.js';
import { scorePrediction } from '../../model/uncertainty.js';
import { saveLabelConfig, listModels, getProjectStrategy } from '../../store/index.js';
import { maxEntropyOf, SAMPLING_STRATEGIES, strategyScore, type SamplingStrategy } from '../../policies/sampling.js';
import { draw, isAudit, ORDER_SALT } from '../../dataset/audit.js';
import type { Db } from '../../store/db.js';
import type { ChampionCache } from '../championCache.js';
import { errorReplies } from '../schemas.js';

export interface MlBackendDeps {
  db: Db;
  champions: ChampionCache;
  backendName: string;
  predictBodyLimit: number;
  /** The audit stream's share and the strategy of projects that chose none (worker/config.ts). */
  sampling: { auditShare: number; defaultStrategy: SamplingStrategy };
}

/** How long /predict trusts a project's strategy it read (a change in the settings shows within this). */
const STRATEGY_TTL_MS = 5_000;

/**
 * The version /setup reports before any model exists. It must not be empty: Label Studio 1.23
 * then stores predictions with a null version and rejects later entries ("may not be null").
 */
const UNTRAINED_VERSION = 'label-loop-untrained';
/** Tasks per /predict request: "Retrieve Predictions" on a large selection sends them all at once. */
export const MAX_PREDICT_TASKS = 10_000;

/** `project` as Label Studio sends it to /setup and /predict: "<id>.<created unix time>" (or an id). */
const ProjectRef = Type.Union([Type.Integer(), Type.String({ maxLength: 64 }), Type.Object({ id: Type.Unknown() })], {
  description: 'a project id or "<id>.<timestamp>"',
});

const ChoicesResult = Type.Array(
  Type.Object({ from_name: Type.String(), to_name: Type.String(), type: Type.String(), value: Type.Object({ choices: Type.Array(Type.String()) }) }),
);

/** A minimal config parsed once at start-up: the parser's first call pays its JIT warm-up (20–70 ms here), not a user's request. */
const WARM_UP_CONFIG = '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>';

export async function mlBackendRoutes(app: FastifyInstance, deps: MlBackendDeps): Promise<void> {
  const { db, champions } = deps;
  parseLabelConfig(WARM_UP_CONFIG);
  const strategies = new Map<number, { strategy: SamplingStrategy; at: number }>();
  const strategyOf = async (projectId: number): Promise<SamplingStrategy> => {
    const cached = strategies.get(projectId);
    if (cached && Date.now() - cached.at < STRATEGY_TTL_MS) return cached.strategy;
    const stored = (await getProjectStrategy(db, projectId)) as SamplingStrategy | null;
    const strategy = stored && SAMPLING_STRATEGIES.includes(stored) ? stored : deps.sampling.defaultStrategy;
    if (strategies.size > 10_000) strategies.clear();
    strategies.set(projectId, { strategy, at: Date.now() });
    return strategy;
  };
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/health',
    { config: { auth: 'public' }, schema: { response: { 200: Type.Object({ status: Type.String(), model_class: Type.String(), backend: Type.String() }) } } },
    async () => ({ status: 'UP', model_class: 'LabelLoop', backend: deps.backendName }),
  );

  r.post(
    '/setup',
    {
      bodyLimit: 2 * 1024 * 1024,
      schema: {
        body: Type.Object({ project: ProjectRef, schema: Type.String({ description: 'the project label config' }) }),
        response: { 200: Type.Object({ model_version: Type.String(), labels: Type.Array(Type.String()), multi_label: Type.Boolean() }), ...errorReplies },
      },
    },
    async (req) => {
      const projectId = projectIdOf(req.body.project);
      // Validate before storing: Label Studio shows this error in its ML-backend dialog.
      let task;
      try {
        task = parseLabelConfig(req.body.schema);
      } catch (err) {
        throw new PayloadError('schema', (err as Error).message);
      }
      await saveLabelConfig(db, projectId, req.body.schema, 'setup');
      return { model_version: (await champions.version(projectId)) ?? UNTRAINED_VERSION, labels: task.labels, multi_label: task.multiLabel };
    },
  );

  r.post(
    '/predict',
    {
      bodyLimit: deps.predictBodyLimit,
      schema: {
        body: Type.Object({
          tasks: Type.Array(Type.Object({ id: Type.Optional(Type.Unknown()), data: Type.Object({}, { description: 'an object' }), project: Type.Optional(Type.Unknown()) }), {
            maxItems: MAX_PREDICT_TASKS,
          }),
          project: Type.Optional(ProjectRef),
        }),
        response: {
          200: Type.Object({
            results: Type.Array(
              Type.Union([
                Type.Object({ result: ChoicesResult, score: Type.Number(), model_version: Type.String() }),
                // "Nothing for this task": Label Studio 1.23 stores nothing and logs nothing.
                Type.Array(Type.Never(), { maxItems: 0 }),
              ]),
            ),
          }),
          ...errorReplies,
        },
      },
    },
    async (req) => {
      const { tasks } = req.body;
      if (tasks.length === 0) return { results: [] };
      const projectId = req.body.project !== undefined ? projectIdOf(req.body.project) : projectIdOf(tasks[0].project, 'tasks[0].project');
      const champion = await champions.get(projectId);
      // Before the first model, and for a task without the text field, the answer for a task is
      // an empty list: measured against Label Studio 1.23.2, that is the one reply it neither logs
      // as an error ("results field must be a list with at least one item", "should be a dict
      // with the 'result' field") nor stores as a prediction that would skew its ordering or stop
      // it asking again once a model exists. One entry per task keeps "Retrieve Predictions" in
      // one call (a count mismatch makes it fall back to one call per task).
      if (!champion) return { results: tasks.map(() => []) };
      const texts = tasks.map((t) => taskText(champion.task, t.data));
      const scorable = texts.flatMap((text, i) => (text === undefined ? [] : [i]));
      const probs = champion.classifier.predictProba(scorable.map((i) => texts[i]!));
      const byTask = new Map(scorable.map((taskIndex, j) => [taskIndex, probs[j]]));
      // The score is the task's place in the serving queue, on the scale the round's push uses
      // (policies/sampling.ts): the project's strategy, an audit task its random draw.
      const strategy = await strategyOf(projectId);
      const maxEntropy = maxEntropyOf(champion.task.labels.length, champion.task.multiLabel);
      const { auditShare } = deps.sampling;
      return {
        results: tasks.map((t, i) => {
          const p = byTask.get(i);
          if (!p) return [];
          const s = scorePrediction(p, champion.classifier.spec);
          const taskId = typeof t.id === 'number' && Number.isSafeInteger(t.id) && t.id > 0 ? t.id : null;
          const order = taskId !== null ? draw(projectId, taskId, ORDER_SALT) : 0.5;
          const score = taskId !== null && isAudit(projectId, taskId, auditShare) ? order : strategyScore(s, strategy, maxEntropy, order);
          return toLabelStudioPrediction(champion.task, s.labels, score, champion.version);
        }),
      };
    },
  );

  r.get(
    '/versions',
    {
      schema: {
        querystring: Type.Object({ project: Type.Optional(Type.String({ maxLength: 64 })) }),
        response: { 200: Type.Object({ versions: Type.Array(Type.String()) }), ...errorReplies },
      },
    },
    async (req) => {
      // Label Studio sends the project in a JSON body even on GET; a query parameter also works.
      const body = (req.body ?? {}) as { project?: unknown };
      const projectId = projectIdOf(req.query.project ?? body.project);
      return { versions: (await listModels(db, projectId)).filter((m) => m.hasWeights).map((m) => m.version) };
    },
  );
}
