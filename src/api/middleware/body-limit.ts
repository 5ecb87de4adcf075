/**
 * Request body limits, answered so every client can read them: an oversized
 * body is read and discarded (up to `drainUpTo`) before the 413 goes out. A
 * server that answers while the client is still sending makes many clients
 * fail with a reset instead of the 413 (workerd resets such a connection, and
 * a pooled keep-alive connection would be left mid-body). Beyond `drainUpTo`
 * the 413 is sent at once (Node then closes the connection lingering).
 */
import type { Context, MiddlewareHandler, Next } from 'hono';
import { ApiError } from '../errors.js';

/**
 * The creative upload route's path: its body limit and type are an upload's, and the Node server gives it longer
 * (node-http.ts). Here, a module without the app's imports, so the Node server (and start:worker's local edge in
 * front of workerd) does not load the app for it.
 */
export const UPLOAD_PATH = /^\/v1\/campaigns\/[^/]+\/creatives\/?$/;

export interface BodyLimitOptions {
  maxSize: number;
  /** What the limit is, for the 413's detail (e.g. "the 1 MiB limit"). */
  what: string;
  /** Bytes of an oversized body read and discarded before answering [64 MiB]. */
  drainUpTo?: number;
}

/** Reads and drops what is left of a body, up to `bound` bytes; cancels beyond it. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, bound: number, already = 0): Promise<void> {
  let read = already;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.length;
      if (read > bound) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The client hung up: nothing left to drain.
  }
}

/** Bytes of a body read and dropped before an answer that did not need it [64 MiB]. */
const DRAIN_UP_TO = 64 * 1024 * 1024;

/**
 * Reads and drops a request body the app answered without reading (a 401, 403, 404, 405, 415 or 429 decided before
 * the body), up to `bound` bytes: workerd resets a connection answered with its request body unread, so a client
 * still sending (an upload of a few MB) gets a reset, or through start:worker's local edge a 502, instead of the
 * answer. For the Workers entry; node:http deals with an unread body itself. A body declared over `bound` is left
 * alone (its connection is reset, as a 413's beyond `drainUpTo`).
 */
export async function drainUnreadBody(request: Request, bound = DRAIN_UP_TO): Promise<void> {
  const body = request.body;
  if (!body || request.bodyUsed || body.locked) return;
  const length = request.headers.get('content-length');
  if (length !== null && declaredOver(length, bound)) return;
  await drain(body.getReader(), bound);
}

/** Whether a declared Content-Length is over `maxSize` (without Transfer-Encoding the header decides: the body cannot be longer). */
export const declaredOver = (length: string, maxSize: number) => Number.parseInt(length, 10) > maxSize;

export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const drainUpTo = options.drainUpTo ?? DRAIN_UP_TO;
  const tooLarge = () => new ApiError('payload_too_large', `Request body exceeds ${options.what}`);
  // Not async: a body within its declared limit hands straight on to `next` without a promise of its own.
  return function limitBody(c, next) {
    // With a Content-Length and no Transfer-Encoding the header decides (the body cannot be longer), and a body
    // within the limit is left alone: on Node, touching c.req.raw builds a web Request and stream per request.
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return readChunked(c, next);
    return declaredOver(length, options.maxSize) ? refuse(c, Number.parseInt(length, 10)) : next();
  };

  /** Drains what the client still sends of an oversized body (up to `drainUpTo`), then answers 413. */
  async function refuse(c: Context, declared: number): Promise<never> {
    const body = c.req.raw.body;
    if (body && declared <= drainUpTo) await drain(body.getReader(), drainUpTo);
    throw tooLarge();
  }

  /** No declared length (chunked): read up to the limit, then drain the rest. */
  async function readChunked(c: Context, next: Next): Promise<void> {
    const body = c.req.raw.body;
    if (!body) return next();
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > options.maxSize) {
        await drain(reader, drainUpTo, size);
        throw tooLarge();
      }
      chunks.push(value);
    }
    const whole = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      whole.set(chunk, at);
      at += chunk.length;
    }
    c.req.raw = new Request(c.req.raw, { body: whole });
    return next();
  }
}
