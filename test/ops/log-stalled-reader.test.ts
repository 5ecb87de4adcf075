/**
 * The Node log while stdout's reader is stopped: the thread that logs (the one that serves HTTP) keeps
 * answering, lines past the log's bound are dropped and counted, and once the reader reads again every
 * line that went out is whole and the drop is reported. A real child process with a real HTTP server,
 * its stdout a pipe nobody reads until the end.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { MAX_HELD_CHARS } from '../../src/ops/node-log.js';
import { ROOT } from './process.js';

/**
 * The child: an HTTP server; GET /log?chars=N logs about N characters of lines (in 10 kB lines), GET /healthz
 * answers 200, GET /exit exits. Its port goes to stderr.
 */
const CHILD = `
import { createServer } from 'node:http';
import { createNodeLog } from './src/ops/node-log.ts';
const log = createNodeLog('info', { pretty: false });
let n = 0;
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/log') {
    const lines = Math.ceil(Number(url.searchParams.get('chars')) / 10_000);
    for (let i = 0; i < lines; i++) log.info({ n: n++, pad: 'x'.repeat(10_000) }, 'line');
  }
  res.end('ok');
  if (url.pathname === '/exit') process.exit(0);
});
server.listen(0, '127.0.0.1', () => process.stderr.write('port=' + server.address().port + '\\n'));
`;

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    // Generous: a blocked event loop never answers; a free one answers in milliseconds.
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer to ${path}: the child's event loop is blocked`)));
    req.on('error', fail);
    req.end();
  });
}

describe('the Node log with a stopped stdout reader', () => {
  it('keeps the HTTP thread answering, bounds what it holds, and reports the lines it dropped', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      // Nobody reads the child's stdout: once the pipe (64 KiB) is full, every write of the child would wait.
      child.stdout.pause();
      let err = '';
      child.stderr.setEncoding('utf8');
      const port = await new Promise<number>((ok, fail) => {
        child.stderr.on('data', (d: string) => {
          err += d;
          const m = /port=(\d+)/.exec(err);
          if (m) ok(Number(m[1]));
        });
        child.once('exit', () => fail(new Error(`child exited: ${err}`)));
      });

      // Far more than the pipe holds, then more than the log's bound: the thread still answers every time.
      for (let i = 0; i < 6; i++) {
        expect(await get(port, `/log?chars=${MAX_HELD_CHARS / 4}`)).toEqual({ status: 200, body: 'ok' });
        expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok' });
      }
      expect((await get(port, `/log?chars=${MAX_HELD_CHARS}`)).status).toBe(200);
      expect((await get(port, '/healthz')).status).toBe(200);

      // The reader comes back; the child exits. What went out is whole lines, in order, then the drop report.
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => (out += d));
      child.stdout.resume();
      const closed = new Promise<number | null>((ok) => child.once('close', ok));
      await get(port, '/exit').catch(() => undefined);
      expect(await closed).toBe(0);
      const lines = out
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as { n?: number; droppedLogLines?: number });
      const numbers = lines.flatMap((line) => (line.n === undefined ? [] : [line.n]));
      expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, n) => n));
      const dropped = lines.flatMap((line) => (line.droppedLogLines === undefined ? [] : [line.droppedLogLines]));
      expect(dropped.length).toBe(1);
      // Every line logged is either out or counted as dropped.
      const logged = 6 * Math.ceil(MAX_HELD_CHARS / 4 / 10_000) + Math.ceil(MAX_HELD_CHARS / 10_000);
      expect(numbers.length + dropped[0]!).toBe(logged);
      expect(numbers.length).toBeLessThan(logged);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
