/**
 * Structured logs, runtime-neutral: the app writes through `Log` (pino on Node,
 * JSON lines on `console` on Workers), so no runtime's logger leaks into the app.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The part of pino's logger the service uses: a level method taking fields and a message. */
export interface Log {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

const rank: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** Reads LOG_LEVEL [info]; undefined when it is not one of LOG_LEVELS (the caller reports it). */
export function parseLogLevel(raw: string | undefined): LogLevel | undefined {
  if (raw === undefined || raw === '') return 'info';
  const level = raw.toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : undefined;
}

/**
 * One JSON object per line through `write` (Workers: console.log, which Workers Logs
 * and `wrangler tail` collect), with pino's field names so both runtimes read alike.
 */
export function jsonLinesLog(level: LogLevel, write: (line: string) => void = console.log): Log {
  const line = (value: number, fields: object, message?: string) => {
    if (value < rank[level]) return;
    write(JSON.stringify({ level: value, time: new Date().toISOString(), ...fields, ...(message ? { msg: message } : {}) }));
  };
  return {
    info: (fields, message) => line(30, fields, message),
    warn: (fields, message) => line(40, fields, message),
    error: (fields, message) => line(50, fields, message),
  };
}

/** Logs nothing (tests that do not look at logs, tools). */
export const silentLog: Log = { info() {}, warn() {}, error() {} };

/** An error as log fields: its type, message and stack; never request data. */
export function errorFields(err: unknown): { err: { type: string; message: string; stack?: string } } {
  const e = err instanceof Error ? err : new Error(String(err));
  return { err: { type: e.name, message: e.message, stack: e.stack } };
}
