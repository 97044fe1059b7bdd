/**
 * What the CLI prints for people: aligned columns, key/value blocks, colours on a terminal only.
 *
 * Tables are plain aligned columns (the layout of `docker ps` or `kubectl get`), not boxes: a
 * dozen lines of code instead of a dependency, and a row stays one line that grep and awk can
 * read. Scripts should use `--json` anyway. Colours come from picocolors (tiny, no dependencies),
 * enabled only when the stream is a terminal and the environment allows them (NO_COLOR,
 * TERM=dumb, `--no-color`: picocolors' own detection).
 */
import { stripVTControlCharacters } from 'node:util';
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** The streams a command writes to (process.stdout / process.stderr, or captures in tests). */
export interface Io {
  stdout: OutStream;
  stderr: OutStream;
}

/** Colours for `stream`: on only for a terminal, and only when the environment allows them. */
export function colorsFor(stream: OutStream, environmentAllows: boolean = pc.isColorSupported): Colors {
  return pc.createColors(stream.isTTY === true && environmentAllows);
}

/** Width as the terminal shows it (colour escapes take no room). */
export const visibleWidth = (s: string) => stripVTControlCharacters(s).length;

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/**
 * Rows under a header, columns separated by two spaces. The last column is cut to `maxWidth`
 * (the terminal's width) when given, so a long reason does not wrap every row.
 */
export function renderTable(columns: (Column | string)[], rows: string[][], opts: { maxWidth?: number; colors?: Colors } = {}): string {
  const cols = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const widths = cols.map((c, i) => Math.max(visibleWidth(c.header), ...rows.map((r) => visibleWidth(r[i] ?? ''))));
  const pad = (s: string, i: number) => {
    if (i === cols.length - 1 && cols[i].align !== 'right') return s;
    const fill = ' '.repeat(widths[i] - visibleWidth(s));
    return cols[i].align === 'right' ? fill + s : s + fill;
  };
  const line = (cells: string[]) => {
    let text = cells.map((c, i) => pad(c ?? '', i)).join('  ').trimEnd();
    if (opts.maxWidth && visibleWidth(text) > opts.maxWidth) text = cut(text, opts.maxWidth);
    return text;
  };
  const header = line(cols.map((c) => c.header));
  return [opts.colors ? opts.colors.bold(header) : header, ...rows.map(line)].join('\n') + '\n';
}

/** Cuts to `width` visible characters with an ellipsis (drops colour, which is fine for a cut line's tail). */
function cut(text: string, width: number): string {
  const plain = stripVTControlCharacters(text);
  return plain.length <= width ? text : `${plain.slice(0, Math.max(0, width - 1))}…`;
}

/** `key  value` lines with the keys aligned. */
export function renderFields(fields: [string, string][], colors?: Colors): string {
  const width = Math.max(0, ...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${colors ? colors.dim(k.padEnd(width)) : k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

export const fixed = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
export const count = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toLocaleString('en-US'));

/** 1234 ms → "1.2 s", 125000 → "2m05s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** An ISO time as local "YYYY-MM-DD HH:MM:SS" (a person's clock), or – . */
export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
