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
  return pino(base, pino.destination({ sync: true }));
}
