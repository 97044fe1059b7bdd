import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  choicesResult,
  isLabelConfigError,
  LabelConfigError,
  labelConfigLimits,
  LabelConfigSyntaxError,
  parseLabelConfig,
  resultLabels,
  taskText,
  UnsupportedLabelConfigError,
  type LabelConfigSyntaxProblem,
} from '../../labelstudio/labelConfig.js';

/**
 * Hostile inputs must be rejected fast. The real target is well under 50 ms; the bound asserted
 * here is generous because unit tests share two cores with other work, and the first call of a
 * code path runs before the JIT has compiled it. A run over the bound is retried twice and the
 * fastest run counts: scheduling noise goes away on a retry, superlinear work (the catastrophic
 * backtracking this parser replaced took minutes) does not.
 */
const BOUND_MS = 200;
const timings: string[] = [];

function timed(name: string, run: () => unknown): { ms: number; error?: unknown } {
  const runs: number[] = [];
  let error: unknown;
  do {
    error = undefined;
    const start = performance.now();
    try {
      run();
    } catch (err) {
      error = err;
    }
    runs.push(performance.now() - start);
  } while (runs.at(-1)! >= BOUND_MS && runs.length < 3);
  timings.push(`${runs.map((ms) => ms.toFixed(2).padStart(8)).join(' ')} ms  ${name}`);
  return { ms: Math.min(...runs), error };
}

afterAll(() => {
  console.log(`parseLabelConfig timings, first call (and retries), bound ${BOUND_MS} ms:\n${timings.join('\n')}`);
});

/** Longest run of the input that the message repeats (windows of 61 characters are enough to check). */
function echoesMoreThan60(message: string, input: string): boolean {
  for (let i = 0; i + 61 <= message.length; i++) if (input.includes(message.slice(i, i + 61))) return true;
  return false;
}

function expectUsableMessage(err: LabelConfigError, input: string) {
  expect(err.message).not.toMatch(/[\n\r\u2028\u2029]/);
  expect(err.message.length).toBeLessThan(300);
  if (input.length <= 300_000) expect(echoesMoreThan60(err.message, input)).toBe(false);
}

const VALID =
  '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>';
const { maxBytes, maxDepth, maxElements, maxAttributesPerElement } = labelConfigLimits();

describe('parseLabelConfig', () => {
  it.each([
    [
      'single choice',
      '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single"><Choice value="spam"/><Choice value="ham"/></Choices></View>',
      { fromName: 'label', toName: 'text', textField: 'text', labels: ['spam', 'ham'], multiLabel: false },
    ],
    [
      'multiple choice, other names, header, aliases, comments',
      `<View>
         <!-- <Choices name="old" toName="x"/> -->
         <Header value="Topic"/>
         <Text name="review" value="$body" granularity="word"/>
         <Choices name="topics" toName="review" choice="multiple" showInline="true">
           <Choice value="Billing issue" alias="billing"/>
           <Choice value="Shipping &amp; delivery"/>
           <Choice value='Other'/>
         </Choices>
       </View>`,
      { fromName: 'topics', toName: 'review', textField: 'body', labels: ['billing', 'Shipping & delivery', 'Other'], multiLabel: true },
    ],
    [
      'choices declared before the text',
      '<View><Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices><Text name="t" value="$doc"/></View>',
      { fromName: 'c', toName: 't', textField: 'doc', labels: ['a', 'b'], multiLabel: false },
    ],
    [
      'XML declaration, nested Views, CDATA, HyperText, layout inside Choices, stray Choice outside it, duplicates',
      `<?xml version="1.0" encoding="UTF-8"?>
       <View>
         <View style="display: flex"><HyperText name="page" value=" $html "/></View>
         <Style><![CDATA[ .x { content: "<Choices name='fake' toName='page'/>" } ]]></Style>
         <Choices name="kind" toName="page" choice="Multiple">
           <View><Header value="Group"/><Choice value="news" html="&lt;b&gt;News&lt;/b&gt;"/></View>
           <Choice value="blog"/>
           <Choice value="news"/>
           <Choice value="&#x41;&#66;c" hotkey="a"/>
         </Choices>
         <Choice value="stray"/>
       </View>`,
      { fromName: 'kind', toName: 'page', textField: 'html', labels: ['news', 'blog', 'ABc'], multiLabel: true },
    ],
    [
      'attribute values are entity-decoded, extra attributes ignored',
      `<View><Text name="t" value="$t"/><Choices name="c&apos;s" toName="t" required="true"><Choice value="&quot;yes&quot;" background="red"/><Choice value="a &lt; b"/></Choices></View>`,
      { fromName: "c's", toName: 't', textField: 't', labels: ['"yes"', 'a < b'], multiLabel: false },
    ],
  ])('%s', (_name, xml, expected) => {
    expect(parseLabelConfig(xml)).toEqual(expected);
  });

  it.each([
    ['empty', '', /empty/],
    ['not XML', 'hello', /no <View>/],
    ['no Choices', '<View><Text name="t" value="$t"/><Labels name="l" toName="t"><Label value="a"/></Labels></View>', /needs a <Choices>/],
    ['two Choices', '<View><Text name="t" value="$t"/><Choices name="a" toName="t"><Choice value="x"/><Choice value="y"/></Choices><Choices name="b" toName="t"><Choice value="x"/><Choice value="y"/></Choices></View>', /2 <Choices> blocks \(a, b\)/],
    ['image', '<View><Image name="i" value="$img"/><Choices name="c" toName="i"><Choice value="x"/><Choice value="y"/></Choices></View>', /<Image>/],
    ['dangling toName', '<View><Text name="t" value="$t"/><Choices name="c" toName="nope"><Choice value="x"/><Choice value="y"/></Choices></View>', /toName="nope"/],
    ['literal text value', '<View><Text name="t" value="hello"/><Choices name="c" toName="t"><Choice value="x"/><Choice value="y"/></Choices></View>', /value="\$field"/],
    ['one choice', '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="x"/></Choices></View>', /at least 2/],
    ['whitespace only', ' \n\t ', /empty/],
    ['not a string', 42, /must be Label Studio XML text/],
    ['root is not a View', '<Config><Text name="t" value="$t"/></Config>', /no <View> root tag \(found <Config>\)/],
    ['tag names are case-sensitive', '<View><Text name="t" value="$t"/><choices name="c" toName="t"><Choice value="x"/><Choice value="y"/></choices></View>', /needs a <Choices>/],
    ['Choices without name', '<View><Text name="t" value="$t"/><Choices toName="t"><Choice value="x"/><Choice value="y"/></Choices></View>', /<Choices> has no name attribute/],
    ['Choices without toName', '<View><Text name="t" value="$t"/><Choices name="c"><Choice value="x"/><Choice value="y"/></Choices></View>', /<Choices name="c"> has no toName/],
    ['value names no field', '<View><Text name="t" value="$"/><Choices name="c" toName="t"><Choice value="x"/><Choice value="y"/></Choices></View>', /value="\$field".*got "\$"/],
    // The regex parser took these from document order; only children of <Choices> count now.
    ['options outside the Choices', '<View><Text name="t" value="$t"/><Choices name="c" toName="t"/><Choice value="x"/><Choice value="y"/></View>', /at least 2 .*found 0/],
    ['duplicate options', '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="x"/><Choice value="x"/></Choices></View>', /at least 2 .*found 1/],
    ['many Choices blocks, names shortened', `<View><Text name="t" value="$t"/>${'<Choices name="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" toName="t"/>'.repeat(5)}</View>`, /5 <Choices> blocks \(a{16}…, a{16}…, a{16}…, …\)/],
  ])('rejects %s as unsupported', (_name, xml, message) => {
    let error: unknown;
    try {
      parseLabelConfig(xml);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UnsupportedLabelConfigError);
    expect(error).not.toBeInstanceOf(LabelConfigSyntaxError);
    expect(isLabelConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expectUsableMessage(error as LabelConfigError, String(xml));
  });
});

describe('hostile and malformed label configs', () => {
  const laughs =
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
    Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">\n`).join('') +
    ']>\n<View><Text name="t" value="&lol9;"/></View>';
  const justOver = VALID.slice(0, -'</View>'.length) + ' '.repeat(maxBytes - VALID.length + 1) + '</View>';
  const threeByteChars = VALID.slice(0, -'</View>'.length) + '€'.repeat(Math.ceil(maxBytes / 3)) + '</View>';

  const cases: [string, string, LabelConfigSyntaxProblem, RegExp][] = [
    // The class of input that froze the regex parser: an unfinished tag with a long attribute run.
    ['unfinished tag with 5,000 " b="', `<View><a${' b='.repeat(5_000)}`, 'not-well-formed', /unquoted attribute value \(line 1, column 13\)/],
    ['unfinished tag with 5,000 unclosed quotes', `<View><a${' b="'.repeat(5_000)}`, 'too-many-attributes', /more than 256 attributes/],
    ['unfinished tag with a 100,000-character quoted value', `<View><a b="${'x '.repeat(50_000)}`, 'unclosed-tag', /ends inside the start tag <a> at line 1, column 7/],
    ['unfinished tag with 50,000 attribute names', `<View><a${' b'.repeat(50_000)}`, 'not-well-formed', /attribute without value/],
    ['unfinished tag with 200 long valid attributes', `<View><a ${Array.from({ length: 200 }, (_, i) => `b${i}="${'y'.repeat(500)}"`).join(' ')}`, 'unclosed-tag', /ends inside the start tag <a>/],
    ['10,000-level nesting', '<View>'.repeat(10_000) + '</View>'.repeat(10_000), 'too-deep', new RegExp(`more than ${maxDepth} levels deep`)],
    ['5 MB config', `<View>${'<Choice value="x"/>'.repeat(280_000)}</View>`, 'too-large', /too large \(5,320,013 characters\); the limit is 256 KiB/],
    ['one character over the size limit', justOver, 'too-large', /too large \(262,145 characters\)/],
    ['over the size limit in UTF-8 bytes only', threeByteChars, 'too-large', /too large \(262,[0-9]{3} bytes of UTF-8\); the limit is 256 KiB/],
    ['5 MB of an unfinished tag (size is checked first)', `<View><a${' b='.repeat(1_700_000)}`, 'too-large', /too large/],
    ['5 MB of whitespace (size is checked first)', ' '.repeat(5_000_000), 'too-large', /too large/],
    ['256 KiB of empty elements', `<View>${'<a/>'.repeat(Math.floor((maxBytes - 13) / 4))}</View>`, 'too-many-elements', /more than 5,000 elements/],
    ['too many attributes', `<View ${Array.from({ length: maxAttributesPerElement + 1 }, (_, i) => `a${i}="1"`).join(' ')}/>`, 'too-many-attributes', /more than 256 attributes/],
    ['billion laughs', laughs, 'doctype', /DOCTYPE declaration: DOCTYPE and entity declarations are not allowed/],
    ['external entity (XXE)', '<!DOCTYPE View [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><View a="&xxe;"/>', 'doctype', /DOCTYPE/],
    ['DOCTYPE after the root', '<View/><!DOCTYPE View>', 'doctype', /DOCTYPE/],
    ['character reference above U+10FFFF', '<View><Choice value="&#x110000;"/></View>', 'character-reference', /&#x110000; that is out of range/],
    ['character reference to NUL', '<View>\n  <Choice value="&#0;"/></View>', 'character-reference', /&#0; .*\(line 2, column 18\)/],
    ['character reference to a surrogate', '<View>&#xD800;</View>', 'character-reference', /&#xD800;/],
    ['NUL byte', '<View><Choice value="a\u0000b"/></View>', 'character', /NUL byte \(U\+0000\).*\(line 1, column 23\)/],
    ['NUL byte after the root', `${VALID}\u0000`, 'character', /NUL byte/],
    ['U+FFFE', '<View>\uFFFE</View>', 'character', /U\+FFFE/],
    ['lone surrogate', '<View>\n<Text value="x\uD800y"/></View>', 'encoding', /lone surrogate U\+D800 at line 2, column 15/],
    ['lone low surrogate', '<View>\uDC00</View>', 'encoding', /lone surrogate U\+DC00/],
    ['unclosed tag', '<View>\n  <Text name="t">', 'unclosed-tag', /never closes <Text> opened at line 2, column 3/],
    ['mismatched tag', '<View><Text></View></Text>', 'mismatched-tag', /closing tag that does not match <Text> opened at line 1, column 7/],
    ['closing tag with no opening', '<View></View></Text>', 'mismatched-tag', /closing tag <\/Text> that closes nothing/],
    ['unknown entity', '<View><Choice value="&foo;"/></View>', 'entity', /unknown entity &foo;.*only &lt; &gt; &amp; &quot; &apos;/],
    ['stray ampersand', '<View>\n<Choice value="salt & pepper"/><Choice value="&amp;"/></View>', 'entity', /an & that does not start a valid reference \(write a literal & as &amp;\) \(line 2, column 21\)/],
    ['unterminated reference', '<View>fish & chips</View>', 'entity', /&amp;/],
    ['< in an attribute value', '<View><Choice value="a<b"/></View>', 'not-well-formed', /< inside an attribute value/],
    ['text before the root', 'label: <View/>', 'not-well-formed', /text data outside of root node/],
    ['two roots', '<View/><View/>', 'not-well-formed', /only one root/],
    ['duplicate attribute', '<View><Text name="a" name="b"/></View>', 'not-well-formed', /duplicate attribute: name/],
    ['long tag name is not echoed', `<View><${'x'.repeat(100_000)}></View>`, 'mismatched-tag', /<x{40}…>/],
    ['no root element', '<!-- just a comment -->', 'not-well-formed', /root element/],
  ];

  it.each(cases)('rejects %s', (name, xml, problem, message) => {
    const { ms, error } = timed(name, () => parseLabelConfig(xml));
    expect(error).toBeInstanceOf(LabelConfigSyntaxError);
    expect(error).not.toBeInstanceOf(UnsupportedLabelConfigError);
    expect(isLabelConfigError(error)).toBe(true);
    const err = error as LabelConfigSyntaxError;
    expect(err.problem).toBe(problem);
    expect(err.message).toMatch(message);
    expectUsableMessage(err, xml);
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('reports line and column on the error object', () => {
    const { error } = timed('line/column', () => parseLabelConfig('<View>\n\n  <Text a="&bad;"/></View>'));
    expect(error).toMatchObject({ problem: 'entity', line: 3, column: 12 });
  });

  const ok = '<Text name="t" value="$t"/><Choices name="c" toName="t">';
  const fill = (head: string, unit: string, tail: string) =>
    head + unit.repeat(Math.floor((maxBytes - head.length - tail.length) / unit.length)) + tail;
  it.each([
    [
      `${maxElements} elements`,
      `<View>${ok}${Array.from({ length: maxElements - 3 }, (_, i) => `<Choice value="v${i}"/>`).join('')}</Choices></View>`,
      maxElements - 3,
    ],
    ['256 KiB of text', fill(`<View>${ok}<Choice value="a"/><Choice value="b"/></Choices>`, 'lorem ipsum ', '</View>'), 2],
    ['256 KiB of references', fill(`<View>${ok}<Choice value="a"/><Choice value="b"/></Choices>`, '&#x41;&amp;', '</View>'), 2],
    ['256 KiB of comments', fill(`<View>${ok}<Choice value="a"/><Choice value="b"/></Choices>`, '<!-- c -->', '</View>'), 2],
    ['a 256 KiB label', fill(`<View>${ok}<Choice value="a"/><Choice value="`, 'b', '"/></Choices></View>'), 2],
    [
      `nesting ${maxDepth} deep`,
      `<View>${ok}<Choice value="a"/><Choice value="b"/></Choices>${'<View>'.repeat(maxDepth - 1)}${'</View>'.repeat(maxDepth - 1)}</View>`,
      2,
    ],
  ])('accepts the largest allowed input: %s', (name, xml, labels) => {
    expect(xml.length).toBeLessThanOrEqual(maxBytes);
    let task: ReturnType<typeof parseLabelConfig> | undefined;
    const { ms, error } = timed(`allowed: ${name}`, () => (task = parseLabelConfig(xml)));
    expect(error).toBeUndefined();
    expect(task?.labels).toHaveLength(labels);
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('documents its limits', () => {
    expect(labelConfigLimits()).toMatchObject({ maxBytes: 262_144, maxDepth: 100, maxElements: 5_000, maxAttributesPerElement: 256 });
    expect(labelConfigLimits().summary).toMatch(/256 KiB.*100 levels.*5,000 elements.*DOCTYPE/);
  });
});

describe('parseLabelConfig on random input (fast-check)', () => {
  /** Runs the parser; anything but a task or one of the two label-config errors fails the property. */
  function check(xml: string): boolean {
    const start = performance.now();
    try {
      const task = parseLabelConfig(xml);
      expect(task.labels.length).toBeGreaterThanOrEqual(2);
      expect(new Set(task.labels).size).toBe(task.labels.length);
    } catch (err) {
      if (!isLabelConfigError(err)) throw err;
      expectUsableMessage(err, xml);
    }
    const ms = performance.now() - start;
    if (ms >= BOUND_MS) throw new Error(`took ${ms.toFixed(1)} ms`);
    return true;
  }

  const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  const markup = fc.constantFrom(
    '<', '>', '/', '</', '/>', '=', '"', "'", ' ', '\n', '&', ';', '&amp;', '&#', '&#x', '&#0;', '&#x110000;', '&lt;',
    '&foo;', '<!--', '-->', '<![CDATA[', ']]>', '<?', '?>', '<!DOCTYPE x [<!ENTITY a "b">]>', '\u0000', '\uD800', '\uFFFE',
    'View', 'Text', 'Choices', 'Choice', 'name', 'toName', 'value', 'alias', 'choice', 'multiple', '$t', 't', 'c', 'a', 'b',
    '<View>', '</View>', '<Choice value="x"/>', ' b=', ' b="',
  );
  const templates = [
    VALID,
    '<View>\n  <Text name="t" value="$body"/>\n  <!-- note -->\n  <Choices name="c" toName="t" choice="multiple">\n    <View><Choice value="a" alias="A"/></View>\n    <Choice value="b &amp; c"/>\n  </Choices>\n</View>',
    '<?xml version="1.0"?><View><Choices name="c" toName="t"><Choice value="&#x41;"/><Choice value="b"/></Choices><HyperText name="t" value="$h"/><![CDATA[x]]></View>',
  ];

  it('random strings of any UTF-16 code units', () => {
    fc.assert(fc.property(fc.string({ unit: anyUnit, maxLength: 400 }), check), { seed: 1337, numRuns: 400 });
  });

  it('random sequences of markup fragments', () => {
    fc.assert(
      fc.property(fc.array(markup, { maxLength: 200 }), (parts) => check(parts.join(''))),
      { seed: 4242, numRuns: 600 },
    );
  });

  it('random mutations of valid configs', () => {
    const edit = fc.record({
      at: fc.nat(),
      remove: fc.nat({ max: 12 }),
      insert: fc.oneof(markup, fc.string({ unit: anyUnit, maxLength: 4 }), markup.map((s) => s.repeat(300))),
    });
    fc.assert(
      fc.property(fc.constantFrom(...templates), fc.array(edit, { minLength: 1, maxLength: 6 }), (template, edits) => {
        let xml = template;
        for (const e of edits) {
          const at = e.at % (xml.length + 1);
          xml = xml.slice(0, at) + e.insert + xml.slice(at + e.remove);
        }
        return check(xml);
      }),
      { seed: 2024, numRuns: 800 },
    );
  });
});

describe('results and task text', () => {
  const task = parseLabelConfig('<View><Text name="t" value="$body"/><Choices name="c" toName="t" choice="multiple"><Choice value="a"/><Choice value="b"/><Choice value="c"/></Choices></View>');
  it('reads labels of this control only, in config order, dropping unknown ones', () => {
    const result = [
      { from_name: 'c', type: 'choices', value: { choices: ['c', 'zzz', 'a'] } },
      { from_name: 'other', type: 'choices', value: { choices: ['b'] } },
    ];
    expect(resultLabels(task, result)).toEqual(['a', 'c']);
    expect(resultLabels(task, 'garbage')).toEqual([]);
  });
  it('reads the text field and round-trips a prediction result', () => {
    expect(taskText(task, { body: 'hi' })).toBe('hi');
    expect(taskText(task, { text: 'hi' })).toBeUndefined();
    expect(resultLabels(task, choicesResult(task, ['b']))).toEqual(['b']);
  });
});
