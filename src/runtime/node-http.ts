/**
 * The Node HTTP server `npm start` listens with (passed to @hono/node-server's
 * `serve` as `createServer`): it corrects what the adapter does on the wire.
 * - A 204 carries no Content-Type (the adapter adds text/plain to any response
 *   without one).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';

function dropDefaultContentType(res: ServerResponse) {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    if (status === 204) {
      const headers = rest.find((r) => r && typeof r === 'object') as Record<string, unknown> | undefined;
      if (headers && !Array.isArray(headers)) for (const key of Object.keys(headers)) if (key.toLowerCase() === 'content-type') delete headers[key];
      this.removeHeader('content-type');
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).call(this, status, ...rest);
  } as ServerResponse['writeHead'];
}

/** `http.createServer` with the corrections above; same signature, so `serve({ createServer: createHttpServer })`. */
export const createHttpServer = ((options: ServerOptions, listener?: RequestListener): Server =>
  createServer(options, (req: IncomingMessage, res: ServerResponse) => {
    dropDefaultContentType(res);
    listener?.(req, res);
  })) as typeof createServer;
