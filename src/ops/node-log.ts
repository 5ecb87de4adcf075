/**
 * The Node logger: JSON lines on stdout in pino's format (`formatLogLine`), buffered; readable
 * (pino-pretty, through pino) when stdout is a terminal.
 */
import { writeSync } from 'node:fs';
import pino from 'pino';
import PinoPretty from 'pino-pretty';
import { formatLogLine, type Log, type LogLevel, lineLog } from './log.js';

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

/** The most characters a log keeps unwritten while stdout is not read; lines past it are dropped and counted. */
export const MAX_HELD_CHARS = 4 * 1024 * 1024;
/** How long the exit's final write sleeps between tries while stdout's pipe is full, in ms. */
const EXIT_RETRY_MS = 10;
/** How long the exit waits at most for a reader that does not read; then what is held is dropped. */
const EXIT_WAIT_MS = 10_000;

/**
 * Lines gather in a string and go to stdout in one piece per ~16 KiB (about 80 request lines) or
 * every FLUSH_MS, whichever comes first, so the event loop spends neither a write nor pino's
 * per-line work per request (each line is one `JSON.stringify` of its fields).
 *
 * The thread that logs serves HTTP, so a write never waits for stdout's reader: a piece goes out in
 * one `writeSync` on stdout's descriptor, which is non-blocking when stdout is a pipe or a socket
 * (Node's `process.stdout` sets O_NONBLOCK; a file never waits long). What the pipe does not take
 * (a short write, EAGAIN) stays at the head and is tried again on the next flush. While the reader is
 * stopped, lines gather up to MAX_HELD_CHARS; past it, new lines are dropped and counted, and once
 * stdout takes the backlog again a warn line `{"droppedLogLines": n}` says how many were lost.
 *
 * Nothing is ever in flight (no asynchronous write, no thread): every byte is either written or
 * still held, so at exit (`process.exit`, which SIGTERM/SIGINT end through) the final write sends
 * what is held in order after what was written, whole, waiting for the reader if it must (up to
 * EXIT_WAIT_MS; a reader that never reads would otherwise keep the process from exiting). A kill -9
 * can lose the lines held (the last FLUSH_MS, or the backlog of a stopped reader), never data.
 */
class BufferedLog implements NodeLog {
  /** Bytes of the piece being written that stdout has not taken yet (its head was written). */
  private rest: Buffer | null = null;
  /** Lines not yet handed to stdout, after `rest`. */
  private held = '';
  /** Lines dropped since the last report, because stdout was not read and the log held MAX_HELD_CHARS. */
  private dropped = 0;
  private log: Log;
  private readonly fd = 1;

  constructor(level: LogLevel) {
    // Makes stdout's descriptor non-blocking when it is a pipe or a socket (libuv opens it so).
    void process.stdout;
    process.on('exit', () => this.flushAtExit());
    this.log = lineLog(level, (line) => {
      if (this.held.length + (this.rest?.length ?? 0) + line.length >= MAX_HELD_CHARS) {
        this.dropped++;
        return;
      }
      this.held += `${line}\n`;
      if (this.held.length >= BATCH_CHARS && this.rest === null) this.flush();
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

  /** Writes what is held, as far as stdout takes it now; never waits. */
  flush(): void {
    if (this.rest !== null && !this.writeRest()) return;
    if (this.dropped > 0) this.reportDropped();
    if (this.held.length === 0) return;
    this.rest = Buffer.from(this.held);
    this.held = '';
    this.writeRest();
  }

  /** Writes all that is held, waiting for stdout up to EXIT_WAIT_MS: the process is ending. */
  private flushAtExit(): void {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const giveUp = Date.now() + EXIT_WAIT_MS;
    for (;;) {
      this.flush();
      if (this.rest === null && this.held.length === 0) return;
      // A reader that never reads must not keep the process from exiting: what is still held is lost.
      if (Date.now() > giveUp) return;
      Atomics.wait(pause, 0, 0, EXIT_RETRY_MS);
    }
  }

  private reportDropped(): void {
    const droppedLogLines = this.dropped;
    this.dropped = 0;
    this.held += `${formatLogLine(40, { droppedLogLines }, 'log lines dropped: stdout was not read')}\n`;
  }

  /** Writes as much of `rest` as stdout takes now; true when all of it is written. */
  private writeRest(): boolean {
    const rest = this.rest as Buffer;
    let done = 0;
    try {
      while (done < rest.length) done += writeSync(this.fd, rest, done, rest.length - done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
        // stdout is gone (EPIPE, closed): nothing more can be written; the lines are dropped.
        this.rest = null;
        this.held = '';
        return true;
      }
    }
    this.rest = done === rest.length ? null : rest.subarray(done);
    return this.rest === null;
  }
}
