/**
 * `npm run build` gives plain JavaScript that a supervisor runs with `node`, no
 * TypeScript loader: built into a temporary folder (node_modules linked), the
 * server starts from it, is ready, answers with a request id, and stops with exit 0.
 */
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, freePort, type Proc, ROOT, run, STRONG_ADMIN_KEY, STRONG_SECRET, waitForOutput } from './process.js';

let procs: Proc[] = [];
let dir: string | undefined;
afterEach(async () => {
  for (const p of procs) await cleanup(p);
  procs = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('produces dist/ that runs with plain node', async () => {
    dir = mkdtempSync(join(tmpdir(), 'status-ads-build-'));
    const out = join(dir, 'app');
    const build = run('npm', ['run', '--silent', 'build', '--', '--outdir', out], {});
    procs.push(build);
    expect((await build.exited).code, build.output()).toBe(0);
    symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
    expect(statSync(join(out, 'src/runtime/node.js')).mode & 0o111).not.toBe(0);

    const port = await freePort();
    const server = run(join(out, 'src/runtime/node.js'), [], {
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE: join(dir, 'ads.db'),
      ADMIN_KEY: STRONG_ADMIN_KEY,
      SECRET: STRONG_SECRET,
      NODE_ENV: 'production',
      NODE_OPTIONS: '', // no loader inherited: plain JavaScript only
    });
    procs.push(server);
    await waitForOutput(server, 'serving on http');
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`, { headers: { 'X-Request-Id': 'built-1' } });
    expect(ready.status).toBe(200);
    expect(ready.headers.get('x-request-id')).toBe('built-1');
    // Log lines are written asynchronously: wait for this request's line rather than read at once.
    await waitForOutput(server, /"reqId":"built-1".*"route":"\/readyz".*"status":200/);
    // The console (JSX) and the offline /docs page come from the build too.
    expect((await fetch(`http://127.0.0.1:${port}/console`, { redirect: 'manual' })).status).toBeLessThan(400);
    expect((await fetch(`http://127.0.0.1:${port}/docs`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 120_000);
});
