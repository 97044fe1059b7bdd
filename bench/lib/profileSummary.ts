/**
 * Self time by function of a V8 CPU profile (node --cpu-prof), the top `n` and grouped by file:
 * `npx tsx bench/lib/profileSummary.ts file.cpuprofile [n]`.
 */
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
const [file, n = '25'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byNode = new Map<number, number>();
profile.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...byNode.values()].reduce((a, b) => a + b, 0);
const fns = new Map<string, number>();
const files = new Map<string, number>();
for (const node of profile.nodes) {
  const t = byNode.get(node.id) ?? 0;
  const url = node.callFrame.url.replace(/^.*\/(node_modules\/(@[^/]+\/)?[^/]+|wt-[^/]+)\//, '$1/');
  const key = `${node.callFrame.functionName || '(anonymous)'} ${url}:${node.callFrame.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + t);
  const group = url.startsWith('node_modules/') ? url.split('/').slice(0, url.startsWith('node_modules/@') ? 3 : 2).join('/') : url || node.callFrame.functionName;
  files.set(group, (files.get(group) ?? 0) + t);
}
const show = (m: Map<string, number>, k: number) =>
  [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(0).padStart(6)} ms  ${name}`).join('\n');
console.log(`total ${(total / 1e6).toFixed(2)} s sampled\n\nby file:\n${show(files, 15)}\n\nby function (self time):\n${show(fns, Number(n))}`);
