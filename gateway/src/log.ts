// The gateway's log: one JSON object per line on stderr, never a token.
// Every enforced call is one `decision` line with the gateway's request id
// and the PDP's decision id, which joins it to the PDP's decision log.
// Lines logged in one turn of the event loop are written together, once, at
// its end (stderr on a pipe is a blocking write per call), and at exit.
// Thread-compatible (one event loop; lines keep their order).

export type Fields = Record<string, string | number | boolean | undefined | readonly string[]>;

export interface Logger {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

/** Lines held before a write; past this many, they are written at once. */
const MAX_BATCH_LINES = 256;

export function jsonLogger(write: (text: string) => void = (t) => process.stderr.write(t)): Logger {
  let batch: string[] = [];
  const flush = (): void => {
    if (batch.length === 0) return;
    const text = batch.join('');
    batch = [];
    write(text);
  };
  process.once('exit', flush);
  const emit = (level: string, msg: string, fields?: Fields): void => {
    batch.push(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
    if (batch.length === 1) setImmediate(flush);
    else if (batch.length >= MAX_BATCH_LINES) flush();
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
