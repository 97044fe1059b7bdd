/**
 * What Label Loop can train on, read from a Label Studio labeling config (XML):
 * one `<Choices>` block over one `<Text>` tag. Anything else is rejected with a message a
 * Label Studio user can act on (it is shown in Label Studio's ML-backend dialog).
 */
export interface ClassificationTask {
  /** `name` of the `<Choices>` tag: the `from_name` of results. */
  fromName: string;
  /** `name` of the `<Text>` tag: the `to_name` of results. */
  toName: string;
  /** Key in `task.data` holding the text, from `<Text value="$field">`. */
  textField: string;
  /** Result values, in config order (a `<Choice alias>` wins over its `value`, as in Label Studio). */
  labels: string[];
  multiLabel: boolean;
}

export class UnsupportedLabelConfigError extends Error {
  override name = 'UnsupportedLabelConfigError';
}

interface Tag {
  name: string;
  attrs: Record<string, string>;
}

const TAG = /<([A-Za-z][\w:-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g;
const ATTR = /([^\s=>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

function decodeEntities(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&');
}

/** Opening and self-closing tags in document order; comments and CDATA are dropped first. */
function openingTags(xml: string): Tag[] {
  const cleaned = xml.replace(/<!--[\s\S]*?-->/g, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  const tags: Tag[] = [];
  for (const m of cleaned.matchAll(TAG)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[2] ?? '').matchAll(ATTR)) {
      attrs[a[1]] = decodeEntities(a[2] ?? a[3] ?? a[4] ?? '');
    }
    tags.push({ name: m[1], attrs });
  }
  return tags;
}

/**
 * Parses a labeling config into the one shape Label Loop trains on.
 * @throws UnsupportedLabelConfigError naming what is missing or unsupported.
 */
export function parseLabelConfig(xml: unknown): ClassificationTask {
  if (typeof xml !== 'string' || xml.trim() === '') {
    throw new UnsupportedLabelConfigError('label config is empty: expected a <View> with <Text> and <Choices>');
  }
  const tags = openingTags(xml);
  if (!tags.some((t) => t.name === 'View')) {
    throw new UnsupportedLabelConfigError('label config has no <View> tag: is it Label Studio XML?');
  }
  const choicesTags = tags.filter((t) => t.name === 'Choices');
  if (choicesTags.length === 0) {
    throw new UnsupportedLabelConfigError(
      'Label Loop trains text classifiers: the label config needs a <Choices> tag over a <Text> tag',
    );
  }
  if (choicesTags.length > 1) {
    const names = choicesTags.map((t) => t.attrs.name ?? '?').join(', ');
    throw new UnsupportedLabelConfigError(
      `label config has ${choicesTags.length} <Choices> blocks (${names}); Label Loop supports exactly one for now`,
    );
  }
  const choices = choicesTags[0];
  const fromName = choices.attrs.name;
  const toName = choices.attrs.toName;
  if (!fromName) throw new UnsupportedLabelConfigError('<Choices> has no name attribute');
  if (!toName) throw new UnsupportedLabelConfigError(`<Choices name="${fromName}"> has no toName attribute`);

  const target = tags.find((t) => t.attrs.name === toName && t.name !== 'Choices');
  if (!target) throw new UnsupportedLabelConfigError(`<Choices> points at toName="${toName}" but no tag has that name`);
  if (target.name !== 'Text' && target.name !== 'HyperText') {
    throw new UnsupportedLabelConfigError(
      `<Choices> labels a <${target.name}> tag; Label Loop classifies <Text> only`,
    );
  }
  const value = target.attrs.value ?? '';
  const field = /^\$([\w.-]+)$/.exec(value.trim());
  if (!field) {
    throw new UnsupportedLabelConfigError(
      `<${target.name} name="${toName}"> needs value="$field" naming the task data field, got "${value}"`,
    );
  }

  // <Choice> tags belong to the single <Choices> block: every Choice after it in document order
  // up to the next non-Choice control is good enough, because nested Choices are not allowed.
  const start = tags.indexOf(choices);
  const labels: string[] = [];
  for (const tag of tags.slice(start + 1)) {
    if (tag.name !== 'Choice') {
      if (tag.name === 'View' || tag.name === 'Header' || tag.name === 'Style') continue;
      break;
    }
    const label = tag.attrs.alias ?? tag.attrs.value;
    if (label !== undefined && label !== '' && !labels.includes(label)) labels.push(label);
  }
  if (labels.length < 2) {
    throw new UnsupportedLabelConfigError(
      `<Choices name="${fromName}"> needs at least 2 <Choice value="..."> options, found ${labels.length}`,
    );
  }
  const mode = (choices.attrs.choice ?? 'single').toLowerCase();
  return { fromName, toName, textField: field[1], labels, multiLabel: mode === 'multiple' };
}

/** Text of a task for this config, or undefined when the field is missing or not text. */
export function taskText(task: ClassificationTask, data: unknown): string | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const value = (data as Record<string, unknown>)[task.textField];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** The labels an annotation result assigns through this config's `<Choices>`, in config order. */
export function resultLabels(task: ClassificationTask, result: unknown): string[] {
  if (!Array.isArray(result)) return [];
  const chosen = new Set<string>();
  for (const item of result) {
    if (!item || typeof item !== 'object') continue;
    const r = item as { from_name?: unknown; type?: unknown; value?: { choices?: unknown } };
    if (r.from_name !== task.fromName) continue;
    const values = r.value?.choices;
    if (!Array.isArray(values)) continue;
    for (const v of values) if (typeof v === 'string') chosen.add(v);
  }
  return task.labels.filter((l) => chosen.has(l));
}

/** A prediction result item in Label Studio's format for this config. */
export function choicesResult(task: ClassificationTask, labels: string[]) {
  return [
    {
      from_name: task.fromName,
      to_name: task.toName,
      type: 'choices',
      value: { choices: labels },
    },
  ];
}
