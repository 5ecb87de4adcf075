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

/** The time of a log line (ISO 8601, UTC, ms), formatted once per millisecond rather than once per line. */
let isoMs = Number.NaN;
let isoText = '';
function isoTime(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/**
 * One log line, as pino writes it with `base: undefined` and ISO time: `level` (pino's number),
 * `time`, the fields in their order (undefined ones left out), then `msg` when there is one. The
 * fields are serialised in one native `JSON.stringify`. No trailing newline.
 */
export function formatLogLine(level: number, fields: object, message?: string): string {
  let body: string;
  try {
    body = JSON.stringify(fields);
  } catch {
    // A field JSON cannot write (a BigInt, a cycle): the line still goes out, without the fields; logging never throws.
    body = '{"fields":"unserialisable"}';
  }
  let line = `{"level":${level},"time":"${isoTime()}"`;
  if (body.length > 2) line += `,${body.slice(1, -1)}`;
  if (message) line += `,"msg":${JSON.stringify(message)}`;
  return `${line}}`;
}

/** A `Log` that formats each line of at least `level` with `formatLogLine` and hands it to `write`. */
export function lineLog(level: LogLevel, write: (line: string) => void): Log {
  const min = rank[level];
  return {
    info: (fields, message) => (30 >= min ? write(formatLogLine(30, fields, message)) : undefined),
    warn: (fields, message) => (40 >= min ? write(formatLogLine(40, fields, message)) : undefined),
    error: (fields, message) => (50 >= min ? write(formatLogLine(50, fields, message)) : undefined),
  };
}

/**
 * One JSON object per line through `write` (Workers: console.log, which Workers Logs
 * and `wrangler tail` collect), with pino's field names so both runtimes read alike.
 */
export function jsonLinesLog(level: LogLevel, write: (line: string) => void = console.log): Log {
  return lineLog(level, write);
}

/** Logs nothing (tests that do not look at logs, tools). */
export const silentLog: Log = { info() {}, warn() {}, error() {} };

/** An error as log fields: its type, message and stack; never request data. */
export function errorFields(err: unknown): { err: { type: string; message: string; stack?: string } } {
  const e = err instanceof Error ? err : new Error(String(err));
  return { err: { type: e.name, message: e.message, stack: e.stack } };
}
