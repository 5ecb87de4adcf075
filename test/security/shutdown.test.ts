/**
 * Graceful shutdown of the real server: on SIGTERM or SIGINT it stops
 * accepting, finishes requests in flight, closes idle keep-alive connections,
 * closes the database and exits 0 within 10 s.
 */
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, http, type RealServer, removeDir, startServer, stopServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refused(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(false);
    });
    socket.once('error', () => done(true));
  });
}

describe.each(['SIGTERM', 'SIGINT'] as const)('graceful shutdown on %s', (signal) => {
  let server: RealServer | undefined;
  afterEach(async () => {
    await stopServer(server);
    removeDir(server?.dir);
  });

  it('finishes in-flight requests, refuses new ones, closes idle keep-alive connections and the database, exits 0 within 10 s', async () => {
    server = await startServer();
    const { port } = server;
    const client = await http(server, 'POST', '/v1/clients', ADMIN, { name: 'App' });
    const key = client.body.apiKey as string;

    // An idle keep-alive connection, parked in the agent's pool.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let idleClosed = false;
    await new Promise<void>((done, fail) => {
      const req = request({ port, host: '127.0.0.1', path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', done);
      });
      req.on('socket', (socket) => socket.once('close', () => (idleClosed = true)));
      req.on('error', fail);
      req.end();
    });

    // A request in flight: the server has read its headers (it answered 100 Continue), the body is half written.
    const body = JSON.stringify({ user: 'shutdown-user' });
    let answer = '';
    let finishBody!: () => void;
    let headersRead!: () => void;
    const serverHasIt = new Promise<void>((r) => (headersRead = r));
    const inFlight = new Promise<number>((done, fail) => {
      const req = request(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/v1/users/blocks',
          headers: {
            Authorization: `Bearer ${key}`,
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            Expect: '100-continue',
          },
        },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (d) => (answer += d));
          res.on('end', () => done(res.statusCode!));
        },
      );
      req.on('error', fail);
      req.on('continue', () => {
        req.write(body.slice(0, 5));
        headersRead();
      });
      finishBody = () => req.end(body.slice(5));
      req.flushHeaders();
    });
    await serverHasIt;
    await sleep(50);

    const started = Date.now();
    server.proc.kill(signal);
    while (!server.logs().includes('stopping: draining')) {
      expect(Date.now() - started).toBeLessThan(5000);
      await sleep(10);
    }
    // New connections are refused while the in-flight request is still open.
    expect(await refused(port)).toBe(true);
    await sleep(300);
    finishBody();

    expect(await inFlight).toBe(200);
    expect(JSON.parse(answer)).toEqual({ advertisers: [], categories: [] });

    const exit = await server.exited;
    const took = Date.now() - started;
    expect(exit).toEqual({ code: 0, signal: null });
    // Well inside the 10 s budget: it must not wait out the 5 s keep-alive timeout of drained connections.
    expect(took).toBeLessThan(4_000);
    expect(idleClosed).toBe(true);
    expect(server.logs()).toContain('stopped cleanly');
    // The last connection to a WAL database checkpoints and removes the -wal file: proof it was closed.
    expect(existsSync(join(server.dir, 'ads.db-wal'))).toBe(false);
    agent.destroy();
  }, 30_000);
});
