/**
 * One serving process per database file (src/store/sqlite/db.ts, `lockDatabase`), on real processes: a second
 * `npm start` on the same DATABASE exits non-zero with one line naming the file, with the engine thread and without,
 * and leaves the first serving; once the first is killed with SIGKILL, the kernel has dropped its lock and a new
 * server starts on the file with nothing to clean up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, freePort, type Proc, run, STRONG_ADMIN_KEY, STRONG_SECRET, waitForOutput } from './process.js';

let procs: Proc[] = [];
let dir: string | undefined;
afterEach(async () => {
  for (const proc of procs) await cleanup(proc);
  procs = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function server(database: string, env: Record<string, string> = {}): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = run(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], {
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE: database,
    MEDIA_DIR: join(dir!, 'media'),
    ADMIN_KEY: STRONG_ADMIN_KEY,
    SECRET: STRONG_SECRET,
    ...env,
  });
  procs.push(proc);
  return { proc, port };
}

describe('one server per database file', () => {
  it('refuses a second server on the file with one line and exit 1; after a kill -9 of the first a new one starts', async () => {
    dir = mkdtempSync(join(tmpdir(), 'status-ads-one-server-'));
    const database = join(dir, 'ads.db');
    const first = await server(database);
    await waitForOutput(first.proc, 'serving on', 60_000);

    for (const env of [{ ENGINE_THREAD: 'on' }, { ENGINE_THREAD: 'off' }]) {
      const second = await server(database, env);
      const serving = waitForOutput(second.proc, 'serving on', 60_000).then(
        () => 'serving',
        () => 'exited',
      );
      expect(await Promise.race([second.proc.exited, serving])).toEqual({ code: 1, signal: null });
      expect(second.proc.output().trim().split('\n')).toEqual([
        `[start] DATABASE ${database} is in use by another server process (it holds ${database}-lock): one server per database file; stop the other one first`,
      ]);
    }
    // The first was not disturbed.
    expect((await fetch(`http://127.0.0.1:${first.port}/readyz`)).status).toBe(200);

    first.proc.child.kill('SIGKILL');
    expect(await first.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const third = await server(database);
    await waitForOutput(third.proc, 'serving on', 60_000);
    expect((await fetch(`http://127.0.0.1:${third.port}/readyz`)).status).toBe(200);
    third.proc.child.kill('SIGTERM');
    expect(await third.proc.exited).toEqual({ code: 0, signal: null });
  }, 120_000);
});
