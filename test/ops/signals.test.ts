/**
 * Stopping the real processes: half-open connections never hold up SIGTERM (the
 * database is closed and the exit is 0, well inside the drain deadline); SIGTERM
 * to the `npm start` process (not its group) stops the server it runs, exit 0,
 * nothing left behind; `npm run start:worker` does the same with workerd.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  alive,
  cleanup,
  descendants,
  freePort,
  type Proc,
  run,
  STRONG_ADMIN_KEY,
  STRONG_SECRET,
  waitForOutput,
} from './process.js';

let proc: Proc | undefined;
let dir: string | undefined;
let leftovers: number[] = [];
afterEach(async () => {
  await cleanup(proc, leftovers);
  proc = undefined;
  leftovers = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function serverEnv() {
  dir = mkdtempSync(join(tmpdir(), 'status-ads-signals-'));
  const port = await freePort();
  return {
    port,
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE: join(dir, 'ads.db'),
      MEDIA_DIR: join(dir, 'media'),
      ADMIN_KEY: STRONG_ADMIN_KEY,
      SECRET: STRONG_SECRET,
    },
  };
}

function openSocket(port: number, send?: string): Promise<Socket> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1', () => {
      if (send) socket.write(send);
      done(socket);
    });
    socket.on('error', () => {}); // the server closing it is the point
    socket.once('error', fail);
  });
}

describe('SIGTERM with half-open connections', () => {
  it('closes connections that sent nothing or half a request line, closes the database and exits 0 at once', async () => {
    const { port, env } = await serverEnv();
    proc = run(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], env);
    await waitForOutput(proc, 'serving on http');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const silent = await openSocket(port);
    const halfLine = await openSocket(port, 'GET /heal');
    const halfHeaders = await openSocket(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const closed = [silent, halfLine, halfHeaders].map((s) => new Promise<void>((r) => s.once('close', () => r())));
    await new Promise((r) => setTimeout(r, 100));

    const started = Date.now();
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(3000);
    await Promise.all(closed);
    expect(proc.output()).toContain('stopped cleanly');
    // The last connection to a WAL database removes the -wal file on close: proof it was closed.
    expect(existsSync(join(dir!, 'ads.db-wal'))).toBe(false);
  }, 30_000);
});

describe('SIGTERM while starting', () => {
  it('is kept: the server stops cleanly once it is up, exit 0, not killed by the signal (143)', async () => {
    const { env } = await serverEnv();
    // Without keys, a first start generates them and says so before it migrates, starts the engine thread and listens.
    proc = run(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], { ...env, ADMIN_KEY: undefined, SECRET: undefined });
    await waitForOutput(proc, /generated ADMIN_KEY/);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toContain('stopped cleanly');
  }, 30_000);
});

describe('npm scripts and signals', () => {
  it('npm start: SIGTERM to the npm process stops the server, exit 0, no process left', async () => {
    const { port, env } = await serverEnv();
    proc = run('npm', ['start'], env);
    await waitForOutput(proc, 'serving on http');
    const below = descendants(proc.child.pid!);
    leftovers = below;
    expect(below.length).toBeGreaterThan(0);
    proc.child.kill('SIGTERM'); // the npm process only, as a supervisor that knows only its child would
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    for (let i = 0; i < 100 && below.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    expect(below.filter(alive)).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    expect(proc.output()).toContain('stopped cleanly');
  }, 60_000);

  it('npm run start:worker: a request in flight at SIGTERM is answered and its connection closed, then exit 0', async () => {
    const { port, env } = await serverEnv();
    proc = run('npm', ['run', 'start:worker'], { ...env, DATA_DIR: join(dir!, 'worker') });
    await waitForOutput(proc, 'serving the Worker', 120_000);
    leftovers = descendants(proc.child.pid!);
    const body = JSON.stringify({ name: 'In flight' });
    // `Expect: 100-continue`: the edge's "100 Continue" says it holds the request; the body follows the signal.
    const socket = await openSocket(
      port,
      `POST /v1/advertisers HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${STRONG_ADMIN_KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    let received = '';
    socket.on('data', (d) => (received += d));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    while (!received.includes('100 Continue')) await new Promise((r) => setTimeout(r, 10));
    proc.child.kill('SIGTERM');
    await waitForOutput(proc, '[stop] SIGTERM');
    socket.write(body);
    // Answered, and the connection closed after the answer rather than kept alive (which held the stop ~5 s).
    await closed;
    expect(received).toMatch(/HTTP\/1\.1 201 /);
    expect(received).toMatch(/\r\nconnection: close\r\n/i);
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    for (let i = 0; i < 100 && leftovers.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    expect(leftovers.filter(alive)).toEqual([]);
    expect(proc.output()).toContain('[stop] closed cleanly');
  }, 180_000);

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'npm run start:worker: %s to npm stops workerd, exit 0, no process left',
    async (signal) => {
      const { port, env } = await serverEnv();
      proc = run('npm', ['run', 'start:worker'], { ...env, DATA_DIR: join(dir!, 'worker') });
      await waitForOutput(proc, 'serving the Worker', 120_000);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const below = descendants(proc.child.pid!);
      leftovers = below;
      expect(below.length).toBeGreaterThanOrEqual(2); // node and workerd
      proc.child.kill(signal);
      expect(await proc.exited).toEqual({ code: 0, signal: null });
      for (let i = 0; i < 100 && below.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
      expect(below.filter(alive)).toEqual([]);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    },
    180_000,
  );
});
