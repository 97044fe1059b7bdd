/**
 * What PostgreSQL cannot store, and the rule Label Loop applies to it.
 *
 * PostgreSQL refuses the NUL character in `text` and `jsonb` values and unpaired UTF-16
 * surrogates in `jsonb` (both are legal in JSON sent by Label Studio or a script). Label Loop
 * replaces each with U+FFFD, the Unicode replacement character, in task data, annotation results
 * and object keys, and keeps everything else as it came. Refusing would lose a whole import for
 * one odd character; the replacement changes nothing a text classifier could learn from.
 */

const REPLACEMENT = '\uFFFD';

/** `s` with NUL characters and unpaired surrogates replaced by U+FFFD. */
export function storableText(s: string): string {
  return s.toWellFormed().replaceAll('\u0000', REPLACEMENT);
}

function clean(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    const k = storableText(key);
    if (k !== key) copy ??= { ...(value as Record<string, unknown>) };
    if (copy && k !== key) {
      delete copy[key];
      copy[k] = (value as Record<string, unknown>)[key];
    }
  }
  return copy ?? value;
}

/**
 * JSON text of `value` that PostgreSQL accepts, by the rule above. The common case (nothing to
 * replace) costs one scan of the serialised text on top of JSON.stringify.
 */
export function storableJson(value: unknown): string {
  const json = JSON.stringify(value);
  // JSON.stringify escapes NUL as \u0000 and an unpaired surrogate as \udXXX; paired ones stay raw.
  if (!json.includes('\\u0000') && !/\\ud[89a-f]/i.test(json)) return json;
  return JSON.stringify(value, (_key, v) => clean(v));
}
