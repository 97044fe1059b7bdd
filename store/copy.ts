/**
 * Bulk writes with PostgreSQL's COPY (text format), through pg-copy-streams: one statement and
 * one stream of rows instead of a parameterised INSERT per page. Measured in BENCHMARKS.md
 * ("Writing predictions"): the write side of bulk re-prediction.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type { PoolClient } from 'pg';

/** A field of COPY's text format: backslash, tab, newline and carriage return escaped. */
export function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** A PostgreSQL array literal of text or numbers, e.g. `{"spam","ham"}` or `{0.25,0.75}`. */
export function arrayLiteral(values: readonly (string | number)[]): string {
  return `{${values.map((v) => (typeof v === 'number' ? copyField(v) : `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`)).join(',')}}`;
}

/** Streams `rows` (already COPY-encoded fields) into `table (columns)` on `client`. */
export async function copyRows(client: PoolClient, table: string, columns: readonly string[], rows: Iterable<readonly string[]>): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  async function* lines() {
    let batch = '';
    for (const row of rows) {
      batch += `${row.join('\t')}\n`;
      if (batch.length > 1 << 16) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  }
  await pipeline(Readable.from(lines()), stream);
}
