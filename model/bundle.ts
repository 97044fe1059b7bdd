/**
 * A small self-describing binary container for a JSON header plus named float32 arrays, used for
 * both serialised classifiers and training checkpoints.
 *
 * Layout (all integers little-endian):
 *   bytes 0..3   magic "LLB1"
 *   bytes 4..7   uint32 header length H
 *   bytes 8..    H bytes of UTF-8 JSON: { meta, arrays: [{ name, length }] }
 *   padding      zero bytes up to a multiple of 4, so every array is 4-byte aligned
 *   arrays       float32 values, in header order, back to back
 *
 * Byte-for-byte deterministic for equal input: JSON key order follows insertion order and float32
 * values are copied bit-exactly.
 */

const MAGIC = [0x4c, 0x4c, 0x42, 0x31]; // "LLB1"

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Float32Array views are host-endian; every platform Node supports in practice is little-endian.
  throw new Error('label-loop model bundles require a little-endian host');
}

export interface Bundle<Meta> {
  meta: Meta;
  arrays: Map<string, Float32Array>;
}

export function encodeBundle<Meta>(meta: Meta, arrays: ReadonlyArray<readonly [string, Float32Array]>): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ meta, arrays: arrays.map(([name, values]) => ({ name, length: values.length })) }),
  );
  const dataStart = align4(8 + header.length);
  const total = dataStart + 4 * arrays.reduce((sum, [, values]) => sum + values.length, 0);
  const bytes = new Uint8Array(total);
  bytes.set(MAGIC, 0);
  new DataView(bytes.buffer).setUint32(4, header.length, true);
  bytes.set(header, 8);
  let offset = dataStart;
  for (const [, values] of arrays) {
    new Float32Array(bytes.buffer, offset, values.length).set(values);
    offset += 4 * values.length;
  }
  return bytes;
}

/** Parses a bundle; throws a descriptive Error on anything truncated or foreign. Arrays are copies. */
export function decodeBundle<Meta>(bytes: Uint8Array): Bundle<Meta> {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error('not a label-loop model bundle (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) throw new Error('model bundle is truncated (header)');
  let header: { meta: Meta; arrays: { name: string; length: number }[] };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new Error(`model bundle header is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(header?.arrays)) throw new Error('model bundle header lacks its array list');
  const arrays = new Map<string, Float32Array>();
  let offset = align4(8 + headerLength);
  for (const { name, length } of header.arrays) {
    if (!Number.isInteger(length) || length < 0 || offset + 4 * length > bytes.length) {
      throw new Error(`model bundle is truncated (array "${name}")`);
    }
    // Copy through a byte slice: `bytes` may sit at an unaligned offset inside a larger buffer (e.g. a pg Buffer).
    arrays.set(name, new Float32Array(bytes.slice(offset, offset + 4 * length).buffer));
    offset += 4 * length;
  }
  if (offset !== bytes.length) throw new Error('model bundle has trailing bytes');
  return { meta: header.meta, arrays };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
