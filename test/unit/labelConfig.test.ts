import { describe, expect, it } from 'vitest';
import { choicesResult, parseLabelConfig, resultLabels, taskText, UnsupportedLabelConfigError } from '../../labelstudio/labelConfig.js';

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
  ])('rejects %s', (_name, xml, message) => {
    expect(() => parseLabelConfig(xml)).toThrow(UnsupportedLabelConfigError);
    expect(() => parseLabelConfig(xml)).toThrow(message);
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
