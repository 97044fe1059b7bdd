import { describe, expect, it } from 'vitest';
import { arrayLiteral, copyField } from '../../store/copy.js';

// COPY's text format and PostgreSQL's array literals, as store/copy.ts writes them; the
// integration test test/integration/streaming.integration.test.ts reads them back from PostgreSQL.
describe('COPY text encoding', () => {
  it.each([
    ['plain', 'plain'],
    ['tab\there', 'tab\\there'],
    ['line\nbreak\r', 'line\\nbreak\\r'],
    ['back\\slash', 'back\\\\slash'],
    [null, '\\N'],
    [42, '42'],
    [0.1, '0.1'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
  ])('field %j → %j', (value, encoded) => expect(copyField(value as string | number | null)).toBe(encoded));

  it.each([
    [['spam'], '{"spam"}'],
    [['a "quoted" label', 'back\\slash'], '{"a \\"quoted\\" label","back\\\\slash"}'],
    [[], '{}'],
    [[0.25, 0.75], '{0.25,0.75}'],
  ])('array %j → %s', (values, literal) => expect(arrayLiteral(values)).toBe(literal));
});
