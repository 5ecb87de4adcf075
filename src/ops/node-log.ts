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
  // Asynchronous writes: a request never waits for the write(2) of its log line (it was ~16 % of a
  // slot request's CPU with sync writes). Lines still leave within milliseconds (no size threshold),
  // pino flushes synchronously on exit, and a kill -9 can lose only the lines of the last write.
  return pino(base, pino.destination({ sync: false, minLength: 0 }));
}
