/**
 * Design target: parseLabelConfig answers any input, hostile or not, in well under 50 ms, so a
 * config sent to /setup can never stall the API's event loop.
 *
 *   npx tsx bench/labelConfig.ts [--runs 5]
 *
 * For the costliest inputs the limits allow (256 KiB, built to maximise parser work) and a few
 * hostile ones, it prints the first call in a fresh process (before the JIT has compiled the
 * parser: what a rarely called /setup pays) and the median of warm calls. First calls are shown as
 * wall time and as the process's CPU time (which includes the JIT's background threads, and is
 * less inflated than wall time when other work shares the two cores).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { labelConfigLimits, parseLabelConfig } from '../labelstudio/labelConfig.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, one: { type: 'string' } } });
const { maxBytes, maxElements } = labelConfigLimits();
const fill = (head: string, unit: string, tail: string) =>
  head + unit.repeat(Math.floor((maxBytes - head.length - tail.length) / unit.length)) + tail;
const ok = '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices>';

const inputs: Record<string, () => string> = {
  [`${maxElements} elements`]: () =>
    `<View><Text name="t" value="$t"/><Choices name="c" toName="t">${Array.from({ length: maxElements - 3 }, (_, i) => `<Choice value="v${i}"/>`).join('')}</Choices></View>`,
  '256 KiB of attributes': () => fill(ok, `<a ${Array.from({ length: 250 }, (_, i) => `b${i}=""`).join(' ')}/>`, '</View>'),
  '256 KiB of references': () => fill(ok, '&#x41;&amp;', '</View>'),
  '256 KiB of comments': () => fill(ok, '<!-- c -->', '</View>'),
  '256 KiB of text': () => fill(ok, 'lorem ipsum ', '</View>'),
  '256 KiB of empty elements (rejected)': () => fill('<View>', '<a/>', '</View>'),
  '256 KiB unfinished tag " b=" (rejected)': () => fill('<View><a', ' b=', ''),
  '5 MB (rejected)': () => `<View>${'<Choice value="x"/>'.repeat(280_000)}</View>`,
};

function once(xml: string): number {
  const start = performance.now();
  try {
    parseLabelConfig(xml);
  } catch {
    // rejections are timed too
  }
  return performance.now() - start;
}

if (values.one) {
  const xml = inputs[values.one]();
  void xml.charCodeAt(xml.length - 1); // build the string before timing
  const cpu = process.cpuUsage();
  const wall = once(xml);
  const { user, system } = process.cpuUsage(cpu);
  console.log(`${wall} ${(user + system) / 1000}`);
} else {
  const runs = Number(values.runs);
  const self = fileURLToPath(import.meta.url);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log('input'.padEnd(42), 'first call: wall / CPU, median ms'.padEnd(36), 'warm median, ms');
  for (const [name, make] of Object.entries(inputs)) {
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--one', name], { encoding: 'utf8' });
      const [w, c] = child.stdout.trim().split(' ').map(Number);
      wall.push(w);
      cpu.push(c);
    }
    const xml = make();
    const warm = Array.from({ length: 20 }, () => once(xml));
    console.log(name.padEnd(42), `${median(wall).toFixed(1)} / ${median(cpu).toFixed(1)}`.padEnd(36), median(warm).toFixed(1));
  }
}
