/**
 * Temporary folders and child processes of a benchmark run, removed and stopped
 * when the run ends, fails, or is interrupted (Ctrl-C, SIGTERM).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = new Set<string>();
const children = new Set<ChildProcess>();
let installed = false;

function removeAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** On SIGINT/SIGTERM: kill what the run started, delete its temporary folders, exit 130/143. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n[bench] ${signal}: stopping servers and removing temporary folders\n`);
      removeAll();
      process.exit(code);
    });
  }
  process.once('exit', removeAll);
}

/** A fresh temporary folder, removed by `removeTempDir` or when the run stops. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `status-ads-${prefix}-`));
  dirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Tracks a child process so an interrupted run does not leave it behind. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
