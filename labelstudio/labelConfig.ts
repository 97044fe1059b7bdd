/**
 * What Label Loop can train on, read from a Label Studio labeling config (XML):
 * one `<Choices>` block over one `<Text>` tag. Anything else is rejected with a message a
 * Label Studio user can act on (it is shown in Label Studio's ML-backend dialog).
 *
 * The config is untrusted input (it arrives on `/setup` and in webhooks), so it is read with a
 * strict, streaming XML 1.0 parser (saxes) that runs in one linear pass and stops at the first
 * problem, under fixed limits (see {@link labelConfigLimits}). No regular expression ever runs
 * over the markup; DOCTYPE declarations are refused, so no entity is ever expanded.
 */
import { SaxesParser } from 'saxes';
import type { ClassificationTask } from '../dataset/task.js';

export type { ClassificationTask };

// ---------------------------------------------------------------------------------------------
// Limits

export interface LabelConfigLimits {
  /** Largest accepted config, in bytes of UTF-8. Real Label Studio configs are a few KiB. */
  maxBytes: number;
  /** Deepest accepted element nesting (the root `<View>` is level 1). */
  maxDepth: number;
  /** Most elements (tags) in one config. */
  maxElements: number;
  /** Most attributes on one element. */
  maxAttributesPerElement: number;
  /** The limits in one sentence, for error pages and docs. */
  summary: string;
}

const MAX_BYTES = 256 * 1024;
const MAX_DEPTH = 100;
const MAX_ELEMENTS = 5_000;
const MAX_ATTRIBUTES = 256;

/** 262144 → "262,144" (Intl would cost a slow first call on the error path). */
function thousands(n: number): string {
  const digits = String(n);
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return out;
}

/** The limits every label config must fit in; anything over them is a {@link LabelConfigSyntaxError}. */
export function labelConfigLimits(): LabelConfigLimits {
  return {
    maxBytes: MAX_BYTES,
    maxDepth: MAX_DEPTH,
    maxElements: MAX_ELEMENTS,
    maxAttributesPerElement: MAX_ATTRIBUTES,
    summary:
      `a label config may be at most ${MAX_BYTES / 1024} KiB of UTF-8, nest elements at most ${MAX_DEPTH} levels deep, ` +
      `have at most ${thousands(MAX_ELEMENTS)} elements and ${MAX_ATTRIBUTES} attributes per element, ` +
      'and may not contain a DOCTYPE or entity declarations',
  };
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Base of the two label-config errors; both carry a single-line message a Label Studio user can act on. */
export abstract class LabelConfigError extends Error {}

/** What went wrong in a config that is not well-formed, hostile, or over a limit. */
export type LabelConfigSyntaxProblem =
  | 'too-large'
  | 'encoding'
  | 'character'
  | 'character-reference'
  | 'entity'
  | 'doctype'
  | 'unclosed-tag'
  | 'mismatched-tag'
  | 'too-deep'
  | 'too-many-elements'
  | 'too-many-attributes'
  | 'not-well-formed';

/**
 * The config is not well-formed XML, is hostile (DOCTYPE, entities, bad characters), or is over
 * one of {@link labelConfigLimits}. Retrying cannot help: the user must fix the config.
 */
export class LabelConfigSyntaxError extends LabelConfigError {
  override name = 'LabelConfigSyntaxError';
  constructor(
    readonly problem: LabelConfigSyntaxProblem,
    message: string,
    /** 1-based line of the problem, when known. */
    readonly line?: number,
    /** 1-based column of the problem, when known. */
    readonly column?: number,
  ) {
    super(message);
  }
}

/** Well-formed Label Studio XML that Label Loop cannot train on (no `<Choices>`, an `<Image>`, ...). */
export class UnsupportedLabelConfigError extends LabelConfigError {
  override name = 'UnsupportedLabelConfigError';
}

/** True for both label-config errors: the config is the problem, so answer 400 / fail non-retryably. */
export function isLabelConfigError(err: unknown): err is LabelConfigError {
  return err instanceof LabelConfigError;
}

// ---------------------------------------------------------------------------------------------
// Reading the markup

/** An element of the document; elements are kept in document order, so a subtree is a range of them. */
interface Element {
  name: string;
  /** From the parser, without a prototype: `attrs.constructor` is undefined. */
  attrs: Record<string, string | undefined>;
  /** Index just past this element's last descendant (itself + descendants = `[index, end)`). */
  end: number;
  line: number;
  column: number;
}

/** Echoes at most `max` characters of untrusted text, on one line, with unprintable characters as `?`. */
function quote(s: string, max = 40): string {
  let out = '';
  let n = 0;
  for (const ch of s) {
    if (n === max) return `${out}…`;
    const cp = ch.codePointAt(0) ?? 0;
    const unprintable =
      cp < 0x20 ||
      (cp >= 0x7f && cp < 0xa0) ||
      (cp >= 0xd800 && cp <= 0xdfff) ||
      (cp >= 0x200b && cp <= 0x200f) ||
      (cp >= 0x2028 && cp <= 0x202e) ||
      (cp >= 0x2066 && cp <= 0x2069) ||
      cp === 0xfeff;
    out += unprintable ? '?' : ch;
    n++;
  }
  return out;
}

const at = (line: number, column: number) => `line ${line}, column ${column}`;
const codePoint = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** 1-based line and column of a string index (only used once, on the way to an error). */
function lineColumn(xml: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index; i++) {
    const c = xml.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && xml.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: index - lineStart + 1 };
}

/** Size first, before anything else looks at the text: O(1) for huge inputs, one native pass otherwise. */
function checkSize(xml: string): void {
  const tooLarge = (size: string) =>
    new LabelConfigSyntaxError(
      'too-large',
      `label config is too large (${size}); the limit is ${MAX_BYTES / 1024} KiB (${thousands(MAX_BYTES)} bytes of UTF-8)`,
    );
  // Every UTF-16 code unit is at least one byte of UTF-8, and at most three.
  if (xml.length > MAX_BYTES) throw tooLarge(`${thousands(xml.length)} characters`);
  if (xml.length * 3 <= MAX_BYTES) return;
  const bytes = Buffer.byteLength(xml, 'utf8');
  if (bytes > MAX_BYTES) throw tooLarge(`${thousands(bytes)} bytes of UTF-8`);
}

/** A JavaScript string can hold half a surrogate pair, which is no character at all (the parser lets it through). */
function checkSurrogates(xml: string): void {
  // Native and O(1) for strings V8 stores one byte per character; the loop only runs to report.
  if ((xml as string & { isWellFormed(): boolean }).isWellFormed()) return;
  for (let i = 0; i < xml.length; i++) {
    const c = xml.charCodeAt(i);
    if ((c & 0xf800) !== 0xd800) continue;
    if (c <= 0xdbff && (xml.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++;
      continue;
    }
    const { line, column } = lineColumn(xml, i);
    throw new LabelConfigSyntaxError(
      'encoding',
      `label config has a lone surrogate ${codePoint(c)} at ${at(line, column)}: the text is not valid Unicode (broken encoding?)`,
      line,
      column,
    );
  }
}

/** Where the `&...;` reference that ends just before `end` starts, if it is short. */
function referenceStart(xml: string, end: number): number | undefined {
  for (let i = end - 1; i >= 0 && i >= end - 48; i--) {
    if (xml.charCodeAt(i) === 0x26 /* & */) return i;
  }
  return undefined;
}

/** The first `&` between the last `;` before `end` and `end`: where an unterminated or malformed reference began. */
function strayAmpersand(xml: string, end: number): number | undefined {
  let found: number | undefined;
  for (let i = end - 1; i >= 0; i--) {
    const c = xml.charCodeAt(i);
    if (c === 0x3b /* ; */) break;
    if (c === 0x26 /* & */) found = i;
  }
  return found;
}

/**
 * Parses the whole document into a light element tree, enforcing the limits as it goes.
 * @throws LabelConfigSyntaxError at the first problem.
 */
function readElements(xml: string): Element[] {
  const parser = new SaxesParser({ xmlns: false, position: true, defaultXMLVersion: '1.0', forceXMLVersion: true });
  const elements: Element[] = [];
  const open: Element[] = [];
  let lastClosed: Element | undefined;
  let attributes = 0;
  // Where the start tag being read began; `starting` is its name until the parser has read all of it.
  let startLine = 1;
  let startColumn = 1;
  let starting: string | undefined;

  const fail = (problem: LabelConfigSyntaxProblem, what: string, line = parser.line, column = Math.max(parser.column, 1)) =>
    new LabelConfigSyntaxError(problem, `label config ${what} (${at(line, column)})`, line, column);

  const ampersandError = (index: number) => {
    const { line, column } = lineColumn(xml, index);
    return fail('entity', 'has an & that does not start a valid reference (write a literal & as &amp;)', line, column);
  };

  parser.on('doctype', () => {
    throw fail('doctype', 'has a DOCTYPE declaration: DOCTYPE and entity declarations are not allowed in a Label Studio config');
  });
  parser.on('opentagstart', (tag) => {
    // The parser has just read `<`, the name and the character after it.
    startLine = parser.line;
    startColumn = Math.max(parser.column - tag.name.length - 1, 1);
    starting = tag.name;
    if (open.length + 1 > MAX_DEPTH) throw fail('too-deep', `nests elements more than ${MAX_DEPTH} levels deep`);
    if (elements.length + 1 > MAX_ELEMENTS) {
      throw fail('too-many-elements', `has more than ${thousands(MAX_ELEMENTS)} elements`);
    }
    attributes = 0;
  });
  parser.on('attribute', () => {
    if (++attributes > MAX_ATTRIBUTES) throw fail('too-many-attributes', `has an element with more than ${MAX_ATTRIBUTES} attributes`);
  });
  parser.on('opentag', (tag) => {
    starting = undefined;
    const el: Element = { name: tag.name, attrs: tag.attributes, end: 0, line: startLine, column: startColumn };
    elements.push(el);
    open.push(el);
  });
  parser.on('closetag', () => {
    lastClosed = open.pop();
    if (lastClosed) lastClosed.end = elements.length;
  });
  parser.on('error', (err) => {
    const prefix = `${parser.line}:${parser.column}: `;
    let detail = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    if (detail.endsWith('.')) detail = detail.slice(0, -1);
    if (detail === 'undefined entity' || detail === 'empty entity name' || detail === 'malformed character entity') {
      // Point at the `&`, not at the `;` where the parser noticed.
      const start = referenceStart(xml, parser.position);
      const ref = start === undefined ? '' : ` ${quote(xml.slice(start, parser.position))}`;
      const { line, column } = start === undefined ? { line: parser.line, column: parser.column } : lineColumn(xml, start);
      if (detail === 'malformed character entity') {
        throw fail('character-reference', `has a character reference${ref} that is out of range or not an XML character`, line, column);
      }
      throw fail(
        'entity',
        `uses an unknown entity${ref}: only &lt; &gt; &amp; &quot; &apos; and numeric character references are allowed`,
        line,
        column,
      );
    }
    if (detail === 'disallowed character in entity name') {
      // The parser read from an `&` up to the next `;`: point at that `&`, not at the `;`.
      throw ampersandError(strayAmpersand(xml, parser.position - 1) ?? parser.position - 1);
    }
    if (detail === 'disallowed character') {
      const cp = xml.codePointAt(parser.position - 1) ?? 0;
      if (cp === 0x3c) throw fail('not-well-formed', 'has a < inside an attribute value (write it as &lt;)');
      const which = cp === 0 ? 'a NUL byte (U+0000)' : `the character ${codePoint(cp)}`;
      throw fail('character', `contains ${which}, which XML does not allow`);
    }
    if (detail.startsWith('unclosed tag') || detail === 'unexpected end') {
      // A stray `&` makes the parser read a reference up to the next `;`, past the end if there is none
      // (unless that `&` sits in a comment, CDATA section or processing instruction closed after it).
      const amp = strayAmpersand(xml, xml.length);
      const quoted = amp !== undefined && (xml.includes('-->', amp) || xml.includes(']]>', amp) || xml.includes('?>', amp));
      if (amp !== undefined && !quoted) throw ampersandError(amp);
      if (starting !== undefined) {
        throw fail(
          'unclosed-tag',
          `ends inside the start tag <${quote(starting)}> at ${at(startLine, startColumn)} (a quote or > is missing)`,
        );
      }
    }
    if (detail.startsWith('unclosed tag')) {
      const el = open.at(-1);
      throw fail('unclosed-tag', el ? `never closes <${quote(el.name)}> opened at ${at(el.line, el.column)}` : 'has an unclosed tag');
    }
    if (detail === 'unexpected close tag') {
      const el = lastClosed;
      throw fail(
        'mismatched-tag',
        el ? `has a closing tag that does not match <${quote(el.name)}> opened at ${at(el.line, el.column)}` : 'has a mismatched closing tag',
      );
    }
    if (detail.startsWith('unmatched closing tag')) {
      throw fail('mismatched-tag', `has a closing tag </${quote(detail.slice('unmatched closing tag: '.length))}> that closes nothing`);
    }
    if (detail === 'inappropriately located doctype declaration') {
      throw fail('doctype', 'has a DOCTYPE declaration: DOCTYPE and entity declarations are not allowed in a Label Studio config');
    }
    if (detail === 'unexpected end') {
      throw fail(
        'not-well-formed',
        'ends inside a tag, attribute value, comment or reference (write a literal & as &amp; and < as &lt;)',
      );
    }
    // The parser's own wording (fixed text, sometimes followed by a name from the input).
    const colon = detail.indexOf(': ');
    const said = colon < 0 ? quote(detail, 80) : `${detail.slice(0, colon)}: ${quote(detail.slice(colon + 2))}`;
    throw fail('not-well-formed', `is not well-formed XML: ${said}`);
  });

  parser.write(xml).close();
  return elements;
}

// ---------------------------------------------------------------------------------------------
// The classification task

/**
 * Parses a labeling config into the one shape Label Loop trains on.
 * @throws LabelConfigSyntaxError when the config is not well-formed XML, is hostile, or is over {@link labelConfigLimits}.
 * @throws UnsupportedLabelConfigError naming what is missing or unsupported in well-formed Label Studio XML.
 */
export function parseLabelConfig(xml: unknown): ClassificationTask {
  if (xml === undefined || xml === null) {
    throw new UnsupportedLabelConfigError('label config is empty: expected a <View> with <Text> and <Choices>');
  }
  if (typeof xml !== 'string') {
    throw new UnsupportedLabelConfigError(`label config must be Label Studio XML text, got a ${typeof xml}`);
  }
  checkSize(xml);
  if (xml.trim() === '') {
    throw new UnsupportedLabelConfigError('label config is empty: expected a <View> with <Text> and <Choices>');
  }
  if (!xml.includes('<')) {
    throw new UnsupportedLabelConfigError('label config has no <View> tag: is it Label Studio XML?');
  }
  checkSurrogates(xml);
  const elements = readElements(xml);

  const root = elements[0];
  if (root.name !== 'View') {
    throw new UnsupportedLabelConfigError(`label config has no <View> root tag (found <${quote(root.name)}>): is it Label Studio XML?`);
  }
  const choicesAt: number[] = [];
  for (let i = 0; i < elements.length; i++) if (elements[i].name === 'Choices') choicesAt.push(i);
  if (choicesAt.length === 0) {
    throw new UnsupportedLabelConfigError(
      'Label Loop trains text classifiers: the label config needs a <Choices> tag over a <Text> tag',
    );
  }
  if (choicesAt.length > 1) {
    const shown = choicesAt.slice(0, 3).map((i) => quote(elements[i].attrs.name ?? '?', 16));
    const names = shown.join(', ') + (choicesAt.length > 3 ? ', …' : '');
    throw new UnsupportedLabelConfigError(
      `label config has ${choicesAt.length} <Choices> blocks (${names}); Label Loop supports exactly one for now`,
    );
  }
  const choices = elements[choicesAt[0]];
  const fromName = choices.attrs.name;
  const toName = choices.attrs.toName;
  if (!fromName) throw new UnsupportedLabelConfigError(`<Choices> has no name attribute (${at(choices.line, choices.column)})`);
  if (!toName) throw new UnsupportedLabelConfigError(`<Choices name="${quote(fromName)}"> has no toName attribute`);

  const target = elements.find((t) => t.attrs.name === toName && t.name !== 'Choices' && t.name !== 'Choice');
  if (!target) {
    throw new UnsupportedLabelConfigError(`<Choices> points at toName="${quote(toName)}" but no tag has that name`);
  }
  if (target.name !== 'Text' && target.name !== 'HyperText') {
    throw new UnsupportedLabelConfigError(`<Choices> labels a <${quote(target.name)}> tag; Label Loop classifies <Text> only`);
  }
  const value = target.attrs.value ?? '';
  // Anchored, one character class: linear on an attribute value that is already bounded by the size limit.
  const field = /^\$([\w.-]+)$/.exec(value.trim());
  if (!field) {
    throw new UnsupportedLabelConfigError(
      `<${target.name} name="${quote(toName, 24)}"> needs value="$field" naming the task data field, got "${quote(value, 24)}"`,
    );
  }

  // The options are the <Choice> tags inside this <Choices> (possibly wrapped in layout tags such as <View>).
  const unique = new Set<string>();
  for (let i = choicesAt[0] + 1; i < choices.end; i++) {
    const el = elements[i];
    if (el.name !== 'Choice') continue;
    const label = el.attrs.alias ?? el.attrs.value;
    if (label !== undefined && label !== '') unique.add(label);
  }
  const labels = [...unique];
  if (labels.length < 2) {
    throw new UnsupportedLabelConfigError(
      `<Choices name="${quote(fromName)}"> needs at least 2 <Choice value="..."> options, found ${labels.length}`,
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
