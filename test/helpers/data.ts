import { loadSpamAssassin, type SpamAssassinEmail } from '../../model/spamAssassin.js';
import type { TestTask } from './labelStudioPayloads.js';

let cache: SpamAssassinEmail[] | null = null;

/** SpamAssassin e-mails in a fixed shuffled order (the package groups them by class). */
export function shuffledEmails(): SpamAssassinEmail[] {
  if (!cache) {
    const emails = loadSpamAssassin();
    // Deterministic Fisher–Yates with a small LCG: the same order on every machine.
    let state = 12345;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = emails.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [emails[i], emails[j]] = [emails[j], emails[i]];
    }
    cache = emails;
  }
  return cache;
}

/** `count` e-mails as Label Studio tasks with ids from `firstId`, and their true labels by task id. */
export function spamTasks(count: number, firstId = 1, offset = 0): { tasks: TestTask[]; labelOf: Map<number, 'spam' | 'ham'> } {
  const emails = shuffledEmails().slice(offset, offset + count);
  const tasks = emails.map((e, i) => ({ id: firstId + i, data: { text: e.text } }));
  return { tasks, labelOf: new Map(tasks.map((t, i) => [t.id, emails[i].label])) };
}
