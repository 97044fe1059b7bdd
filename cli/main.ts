#!/usr/bin/env node
/** Entry point of the `label-loop` command (see program.ts). */
import { EXIT, main } from './program.js';

// `label-loop rounds list 1 | head`: the reader went away; stop quietly instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
}

const code = await main(process.argv.slice(2));
// Servers keep the event loop alive; one-shot commands and failures end here.
if (code !== EXIT.ok) process.exit(code);
