/** The Node logger: pino, JSON lines on stdout; readable (pino-pretty) when stdout is a terminal. */
import pino, { type Logger } from 'pino';
import PinoPretty from 'pino-pretty';
import type { LogLevel } from './log.js';

export function createNodeLog(level: LogLevel, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  const base: pino.LoggerOptions = {
    level,
    // No pid/hostname on every line: the supervisor knows them; the lines stay short.
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty) return pino(base, PinoPretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l' }));
  // Buffered asynchronous writes: lines gather in memory and go out in one write(2) per ~4 KiB (about
  // 25 request lines) or every FLUSH_MS, whichever comes first, so the event loop spends no write per
  // request (one write per line was ~5 % of a slot request's CPU). Still one JSON line per request;
  // pino flushes synchronously on exit (SIGTERM/SIGINT end through process.exit), and a kill -9 can
  // lose the lines of the last FLUSH_MS at most, never data.
  return pino(base, pino.destination({ sync: false, minLength: BUFFER_BYTES, periodicFlush: FLUSH_MS }));
}

/** Bytes of log lines gathered before one write. */
const BUFFER_BYTES = 4096;
/** The longest a line waits in the buffer, in ms. */
export const FLUSH_MS = 200;
