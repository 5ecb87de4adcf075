/**
 * The Node logger: JSON lines on stdout in pino's format (`formatLogLine`), buffered; readable
 * (pino-pretty, through pino) when stdout is a terminal.
 */
import pino from 'pino';
import PinoPretty from 'pino-pretty';
import { type Log, type LogLevel, lineLog } from './log.js';

/** A `Log` that can also be told to write what it holds now (the start-up line). */
export interface NodeLog extends Log {
  flush(): void;
}

/** Characters of log lines gathered before they are handed to the file descriptor's writer in one piece. */
const BATCH_CHARS = 16_384;
/** The longest a line waits in the buffer, in ms. */
export const FLUSH_MS = 200;

export function createNodeLog(level: LogLevel, options: { pretty?: boolean } = {}): NodeLog {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  if (pretty)
    return pino(
      { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
      PinoPretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l' }),
    );
  return new BufferedLog(level);
}

/**
 * Lines gather in a string and go to stdout in one piece per ~16 KiB (about 80 request lines) or
 * every FLUSH_MS, whichever comes first, so the event loop spends neither a write nor pino's
 * per-line work per request (each line is one `JSON.stringify` of its fields). The piece goes through
 * pino's destination (sonic-boom) in one synchronous write, partial writes and EAGAIN retried, as
 * pino's default destination writes: no piece is ever still being written when the process exits,
 * so the exit's own write of what is held lands after it, whole (an asynchronous write in flight at
 * exit could land after it, or be cut off). The cost is one write call per piece, and a reader of
 * stdout that stops reading holds up the thread that logs. SIGTERM/SIGINT end through process.exit,
 * which writes what is held; a kill -9 can lose the lines of the last FLUSH_MS at most, never data.
 */
class BufferedLog implements NodeLog {
  private held = '';
  private log: Log;
  private out: ReturnType<typeof pino.destination>;

  constructor(level: LogLevel) {
    process.on('exit', () => {
      this.flush();
      try {
        this.out.flushSync();
      } catch {
        // Already closed, or stdout is gone: nothing more can be written.
      }
    });
    this.out = pino.destination({ sync: true, minLength: 0 });
    this.log = lineLog(level, (line) => {
      this.held += `${line}\n`;
      if (this.held.length >= BATCH_CHARS) this.flush();
    });
    setInterval(() => this.flush(), FLUSH_MS).unref();
  }

  info(fields: object, message?: string): void {
    this.log.info(fields, message);
  }
  warn(fields: object, message?: string): void {
    this.log.warn(fields, message);
  }
  error(fields: object, message?: string): void {
    this.log.error(fields, message);
  }

  /** Writes what is held. */
  flush(): void {
    if (this.held.length === 0) return;
    const text = this.held;
    this.held = '';
    this.out.write(text);
  }
}
