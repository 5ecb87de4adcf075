/**
 * Real processes for the ops tests: the server (or npm) as a child on 127.0.0.1
 * and a free port, with captured output, its descendants from /proc, and a wait
 * for its exit. Each test stops what it starts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const STRONG_ADMIN_KEY = 'sk_admin_Qm9vdHN0cmFwLWFkbWluLWtleS1mb3Itb3BzLXRlc3Rz';
export const STRONG_SECRET = 'c2VjcmV0LWZvci10aGUtb3BzLXRlc3RzLTMyLWJ5dGVzIQ';

export { freePort } from '../helpers/server.js';

export interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `command args` in the repo with a minimal environment plus `env`. */
export function run(command: string, args: string[], env: Record<string, string | undefined>): Proc {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return { child, output: () => out, exited };
}

export async function waitForOutput(proc: Proc, text: string | RegExp, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  const found = () => (typeof text === 'string' ? proc.output().includes(text) : text.test(proc.output()));
  while (!found()) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(`exited before "${text}":\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${ms} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every live descendant of `pid` (children, grandchildren, …), from /proc. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const ppid = Number(fields[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) for (const child of parents.get(queue.shift()!) ?? []) out.push(child), queue.push(child);
  return out;
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Kills what is left of a test's processes (by pid) and waits for the child's exit. */
export async function cleanup(proc: Proc | undefined, pids: number[] = []): Promise<void> {
  if (!proc) return;
  for (const pid of [...pids, ...(proc.child.pid ? descendants(proc.child.pid) : [])]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await proc.exited;
}
