// The gateway's log: one JSON object per line on stderr, never a token.
// Every enforced call is one `decision` line with the gateway's request id
// and the PDP's decision id, which joins it to the PDP's decision log.
// Thread-compatible (Node's stderr writes are ordered).

export type Fields = Record<string, string | number | boolean | undefined | readonly string[]>;

export interface Logger {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (level: string, msg: string, fields?: Fields): void => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
