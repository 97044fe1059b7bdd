/**
 * A small self-describing binary container for a JSON header plus named typed arrays (float32 by
 * default; float64 and int32 carry a `dtype` in the header), used for serialised classifiers and
 * training checkpoints.
 *
 * Layout (all integers little-endian):
 *   bytes 0..3   magic "LLB1"
 *   bytes 4..7   uint32 header length H
 *   bytes 8..    H bytes of UTF-8 JSON: { meta, arrays: [{ name, length, dtype? }] } (dtype absent = float32)
 *   padding      zero bytes up to a multiple of 4, so every array is 4-byte aligned
 *   arrays       values, in header order, back to back (float64 arrays are preceded by zero
 *                padding to a multiple of 8)
 *
 * Byte-for-byte deterministic for equal input: JSON key order follows insertion order and float32
 * values are copied bit-exactly.
 */

const MAGIC = [0x4c, 0x4c, 0x42, 0x31]; // "LLB1"

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Float32Array views are host-endian; every platform Node supports in practice is little-endian.
  throw new Error('label-loop model bundles require a little-endian host');
}

export type BundleArray = Float32Array | Float64Array | Int32Array;
type Dtype = 'float32' | 'float64' | 'int32';

export interface Bundle<Meta> {
  meta: Meta;
  arrays: Map<string, BundleArray>;
}

function dtypeOf(values: BundleArray): Dtype {
  if (values instanceof Float32Array) return 'float32';
  if (values instanceof Float64Array) return 'float64';
  if (values instanceof Int32Array) return 'int32';
  throw new Error('bundle arrays must be Float32Array, Float64Array or Int32Array');
}

/** Byte offset of each array (float64 aligned to 8) and the total size. */
function layout(dataStart: number, entries: { dtype: Dtype; length: number }[]): { offsets: number[]; total: number } {
  let offset = dataStart;
  const offsets = entries.map(({ dtype, length }) => {
    if (dtype === 'float64') offset = (offset + 7) & ~7;
    const at = offset;
    offset += (dtype === 'float64' ? 8 : 4) * length;
    return at;
  });
  return { offsets, total: offset };
}

export function encodeBundle<Meta>(meta: Meta, arrays: ReadonlyArray<readonly [string, BundleArray]>): Uint8Array {
  const entries = arrays.map(([name, values]) => {
    const dtype = dtypeOf(values);
    return dtype === 'float32' ? { name, length: values.length } : { name, length: values.length, dtype };
  });
  const header = new TextEncoder().encode(JSON.stringify({ meta, arrays: entries }));
  const dataStart = align4(8 + header.length);
  const { offsets, total } = layout(
    dataStart,
    arrays.map(([, values]) => ({ dtype: dtypeOf(values), length: values.length })),
  );
  const bytes = new Uint8Array(total);
  bytes.set(MAGIC, 0);
  new DataView(bytes.buffer).setUint32(4, header.length, true);
  bytes.set(header, 8);
  arrays.forEach(([, values], i) => {
    const View = values.constructor as Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor;
    new View(bytes.buffer, offsets[i], values.length).set(values as never);
  });
  return bytes;
}

/** The array `name` of a decoded bundle, checked to be a Float32Array of `length` values (any length if omitted). */
export function float32Of(arrays: Map<string, BundleArray>, name: string, length?: number): Float32Array {
  return typed(arrays, name, Float32Array, length);
}

export function float64Of(arrays: Map<string, BundleArray>, name: string, length?: number): Float64Array {
  return typed(arrays, name, Float64Array, length);
}

export function int32Of(arrays: Map<string, BundleArray>, name: string, length?: number): Int32Array {
  return typed(arrays, name, Int32Array, length);
}

function typed<T extends BundleArray>(arrays: Map<string, BundleArray>, name: string, type: new (n: number) => T, length?: number): T {
  const values = arrays.get(name);
  if (!(values instanceof type) || (length !== undefined && values.length !== length)) {
    throw new Error(`bundle lacks "${name}" as ${type.name}${length !== undefined ? ` of ${length} values` : ''}`);
  }
  return values;
}

/** Parses a bundle; throws a descriptive Error on anything truncated or foreign. Arrays are copies. */
export function decodeBundle<Meta>(bytes: Uint8Array): Bundle<Meta> {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error('not a label-loop model bundle (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) throw new Error('model bundle is truncated (header)');
  let header: { meta: Meta; arrays: { name: string; length: number; dtype?: Dtype }[] };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new Error(`model bundle header is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(header?.arrays)) throw new Error('model bundle header lacks its array list');
  const arrays = new Map<string, BundleArray>();
  for (const { name, length, dtype = 'float32' } of header.arrays) {
    if (!['float32', 'float64', 'int32'].includes(dtype)) throw new Error(`model bundle array "${name}" has unknown dtype ${String(dtype)}`);
    if (!Number.isInteger(length) || length < 0) throw new Error(`model bundle is truncated (array "${name}")`);
  }
  const { offsets, total } = layout(
    align4(8 + headerLength),
    header.arrays.map(({ length, dtype = 'float32' }) => ({ dtype, length })),
  );
  if (total > bytes.length) throw new Error('model bundle is truncated (arrays)');
  header.arrays.forEach(({ name, length, dtype = 'float32' }, i) => {
    const width = dtype === 'float64' ? 8 : 4;
    // Copy through a byte slice: `bytes` may sit at an unaligned offset inside a larger buffer (e.g. a pg Buffer).
    const buffer = bytes.slice(offsets[i], offsets[i] + width * length).buffer;
    arrays.set(name, dtype === 'float64' ? new Float64Array(buffer) : dtype === 'int32' ? new Int32Array(buffer) : new Float32Array(buffer));
  });
  if (total !== bytes.length) throw new Error('model bundle has trailing bytes');
  return { meta: header.meta, arrays };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
