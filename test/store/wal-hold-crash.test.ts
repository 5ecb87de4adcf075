/**
 * A kill -9 while the group commits are held for the WAL's checkpointer (its restart or a truncation, the worker
 * in the middle of its checkpoint) loses nothing acknowledged, and the file opens intact.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/db.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('kill -9 during a WAL hold', () => {
  it('keeps every acknowledged reservation', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wal-hold-crash-'));
    const path = join(dir, 'ads.db');
    const acknowledgedFile = join(dir, 'acknowledged');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/wal-hold-writer.ts', path, acknowledgedFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stdout.resume();
    child.stderr.on('data', (d) => (err += d));
    // The child ends itself (a kill during a hold, or exit 3 after 60 s without one); never left running if the test fails.
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once('exit', (code, signal) => done({ code, signal })),
    ).finally(() => child.kill('SIGKILL'));
    expect(exit.signal, err).toBe('SIGKILL');
    expect(err).toMatch(/killed during a hold after \d+ acknowledged/);
    const acknowledged = readFileSync(acknowledgedFile, 'utf8').split('\n').filter(Boolean);
    expect(acknowledged.length).toBeGreaterThanOrEqual(2000);

    const { sqlite } = openDatabase(path);
    try {
      expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
      const stored = new Set(sqlite.prepare('SELECT id FROM reservations').pluck().all() as string[]);
      expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      sqlite.close();
    }
  }, 90_000);
});
