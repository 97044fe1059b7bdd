/**
 * How many compute activities should one worker process run at once? Two trainings (2,000
 * SpamAssassin labels each, the round's training code) measured three ways in the same run:
 * one after the other in one process, both at once in one process (what
 * maxConcurrentActivityTaskExecutions = 2 on the compute queue would do), and one in each of two
 * processes (what a second compute worker process does). Medians of `--runs`.
 *
 *   npx tsx bench/computeConcurrency.ts [--runs 3] [--smoke]
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../model/backend.js';
import { defaultSpec, defaultTrainOptions, trainClassifier } from '../model/classifier.js';
import { loadSpamAssassin } from '../model/spamAssassin.js';
import { machine, median, runJsonChild } from './lib/common.js';

const { values } = parseArgs({ options: { child: { type: 'boolean', default: false }, jobs: { type: 'string', default: '1' }, runs: { type: 'string', default: '3' }, smoke: { type: 'boolean', default: false } } });
const SELF = path.relative(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), fileURLToPath(import.meta.url));
const EXAMPLES = values.smoke ? 200 : 2_000;

async function train(seed: number) {
  const emails = loadSpamAssassin().slice(0, EXAMPLES);
  const clf = await trainClassifier(defaultSpec(['ham', 'spam'], false), emails.map((e) => ({ text: e.text, labels: [e.label] })), defaultTrainOptions(seed));
  clf.dispose();
}

/** `jobs` trainings in this process, sequentially or all at once. */
async function inProcess(jobs: number, together: boolean): Promise<number> {
  const t0 = performance.now();
  if (together) await Promise.all(Array.from({ length: jobs }, (_, i) => train(i + 1)));
  else for (let i = 0; i < jobs; i++) await train(i + 1);
  return performance.now() - t0;
}

if (values.child) {
  await initBackend();
  await train(99); // warm-up, as a long-lived worker is
  console.log(JSON.stringify({ ms: await inProcess(Number(values.jobs), false) }));
} else {
  await initBackend();
  await train(99);
  console.log(`machine: ${machine()}`);
  const runs = values.smoke ? 1 : Number(values.runs);
  const sequential: number[] = [];
  const together: number[] = [];
  const twoProcesses: number[] = [];
  for (let r = 1; r <= runs; r++) {
    sequential.push(await inProcess(2, false));
    together.push(await inProcess(2, true));
    // Two processes, each warmed up, each training once; the wall time of the slower one.
    const t = await Promise.all([runJsonChild<{ ms: number }>(SELF, ['--child', '--jobs', '1']), runJsonChild<{ ms: number }>(SELF, ['--child', '--jobs', '1'])]);
    twoProcesses.push(Math.max(...t.map((x) => x.ms)));
    console.log(`run ${r}: sequential ${sequential.at(-1)!.toFixed(0)} ms, both at once in one process ${together.at(-1)!.toFixed(0)} ms, one per process ${twoProcesses.at(-1)!.toFixed(0)} ms`);
  }
  const s = median(sequential);
  console.log(`\ntwo trainings of ${EXAMPLES} labels, medians of ${runs} run(s)`);
  console.log('| how | wall time | vs one after the other |');
  console.log('| --- | ---: | ---: |');
  console.log(`| one after the other, one process | ${(s / 1000).toFixed(2)} s | 1.00 |`);
  console.log(`| both at once, one process (compute concurrency 2) | ${(median(together) / 1000).toFixed(2)} s | ${(median(together) / s).toFixed(2)} |`);
  console.log(`| one in each of two processes | ${(median(twoProcesses) / 1000).toFixed(2)} s | ${(median(twoProcesses) / s).toFixed(2)} |`);
}
