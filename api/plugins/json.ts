/**
 * JSON bodies, bounded: fastify's own parser (prototype-poisoning safe) after a linear scan that
 * refuses nesting deeper than MAX_JSON_DEPTH. Deep nesting is legal JSON, but nothing Label
 * Studio sends needs it, and recursive code downstream (validation, serialisation) would
 * overflow its stack on 10,000 levels.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../errors.js';

export const MAX_JSON_DEPTH = 100;

/** Deepest nesting of objects and arrays in JSON text, stopping early past `limit`. O(length). */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: jump to its closing quote with indexOf (native, fast on the long task texts
      // that make up most of a body); a quote preceded by an odd number of backslashes is escaped.
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote < 0) return max; // unterminated: the parser reports it
        let backslashes = 0;
        for (let b = quote - 1; b > i && text.charCodeAt(b) === 0x5c; b--) backslashes++;
        if (backslashes % 2 === 0) {
          i = quote;
          break;
        }
        from = quote + 1;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

export const jsonPlugin = fp(async (app: FastifyInstance) => {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      done(new HttpError(400, `body: nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parse(req, text, done);
  });
});
