/**
 * `npm run start:worker` as an operator's process, on real processes: a bad Workers-only setting stops the start with
 * one line and exit 1 (not a 500 with a stack trace at the first request); a second server on the same DATA_DIR is
 * refused like a second `npm start` on one DATABASE; workerd ends with the process even when it is killed with
 * SIGKILL (no workerd left running on the data); and when workerd ends on its own, the process ends with exit 1
 * instead of answering 502 for good.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
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

let procs: Proc[] = [];
let leftovers: number[] = [];
let dir: string | undefined;
afterEach(async () => {
  for (const proc of procs) await cleanup(proc, leftovers);
  procs = [];
  leftovers = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function startWorker(env: Record<string, string> = {}): Promise<{ proc: Proc; port: number }> {
  dir ??= mkdtempSync(join(tmpdir(), 'status-ads-start-worker-'));
  const port = await freePort();
  const proc = run(process.execPath, ['--import', 'tsx', 'src/runtime/start-worker.ts'], {
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: join(dir, 'worker'),
    ADMIN_KEY: STRONG_ADMIN_KEY,
    SECRET: STRONG_SECRET,
    ...env,
  });
  procs.push(proc);
  return { proc, port };
}

/** The workerd process below `pid` (start-worker.ts's child). */
function workerdOf(pid: number): number {
  const found = descendants(pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('workerd');
    } catch {
      return false;
    }
  });
  expect(found).toHaveLength(1);
  return found[0];
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

describe('npm run start:worker as a process', () => {
  it.each([
    ['USER_SHARDS', '-1', '[start] USER_SHARDS must be a whole number from 0 to 1000000, got "-1"'],
    ['BUDGET_MIN_SHARDS', '0', '[start] BUDGET_MIN_SHARDS must be a whole number from 1 to 64, got "0"'],
    ['CATALOG_REFRESH_MS', 'often', '[start] CATALOG_REFRESH_MS must be an integer between 0 and 3600000, got "often"'],
    [
      'HOST',
      'not a host!',
      '[start] HOST must be an IP address or a host name of this machine (e.g. 0.0.0.0 or 127.0.0.1), got "not a host!"',
    ],
  ])(
    'a bad %s=%s stops the start with one line and exit 1',
    async (name, value, line) => {
      const { proc } = await startWorker({ [name]: value });
      expect(await proc.exited).toEqual({ code: 1, signal: null });
      expect(proc.output().trim().split('\n')).toEqual([line]);
    },
    60_000,
  );

  it('a PORT in use stops the start with one line and exit 1, and leaves no workerd', async () => {
    const busy = createServer();
    const port = await freePort();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', () => r()));
    try {
      const { proc } = await startWorker({ PORT: String(port) });
      const below = new Set<number>();
      const watch = setInterval(() => {
        for (const pid of descendants(proc.child.pid!)) below.add(pid);
      }, 20);
      const exited = await proc.exited;
      clearInterval(watch);
      expect(exited).toEqual({ code: 1, signal: null });
      expect(proc.output().trim().split('\n')).toEqual([
        `[start] PORT ${port} is already in use on 127.0.0.1: stop the other process or choose another PORT`,
      ]);
      for (const pid of below) expect(await gone(pid)).toBe(true);
    } finally {
      busy.close();
    }
  }, 120_000);

  it('one server per DATA_DIR; workerd ends with a killed process, and the process ends (exit 1) with workerd', async () => {
    const first = await startWorker();
    await waitForOutput(first.proc, 'serving the Worker', 120_000);
    const firstWorkerd = workerdOf(first.proc.child.pid!);
    leftovers.push(firstWorkerd);

    const second = await startWorker();
    expect(await second.proc.exited).toEqual({ code: 1, signal: null });
    const dataDir = join(dir!, 'worker');
    expect(second.proc.output().trim().split('\n')).toEqual([
      `[start] DATA_DIR ${dataDir} is in use by another start:worker process (it holds ${dataDir}/server.lock): one server per data folder; stop the other one first`,
    ]);
    expect((await fetch(`http://127.0.0.1:${first.port}/readyz`)).status).toBe(200);

    // kill -9 of the process: its workerd goes too, and the data folder is free for the next start.
    first.proc.child.kill('SIGKILL');
    expect(await first.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await gone(firstWorkerd)).toBe(true);

    const third = await startWorker();
    await waitForOutput(third.proc, 'serving the Worker', 120_000);
    expect((await fetch(`http://127.0.0.1:${third.port}/readyz`)).status).toBe(200);
    // workerd killed under it: not a server answering 502 for good, but an exit a supervisor restarts.
    process.kill(workerdOf(third.proc.child.pid!), 'SIGKILL');
    expect(await third.proc.exited).toEqual({ code: 1, signal: null });
    expect(third.proc.output()).toContain('[stop] workerd ended unexpectedly (signal SIGKILL): stopping');
  }, 300_000);
});
