/**
 * Durability off the event loop for the two hot write paths. The connection runs
 * `synchronous = FULL` (db.ts: every other write is fsynced before it returns);
 * `unsynced(fn)` runs one group commit with `synchronous = NORMAL` (WAL): the
 * commit writes its frames to the `-wal` file, so it survives the process dying
 * (the kernel holds the pages), but it is not on the disk until the file is
 * synced. `sync()` makes everything committed before the call durable with an
 * fdatasync of the `-wal` file on libuv's thread pool, so the JavaScript thread
 * keeps serving while the disk works. Callers that arrive while a sync is running
 * share the next one (a sync that began before their commit would not cover it).
 * A checkpoint that moves frames into the database file syncs that file itself.
 * `hold()` makes the group commits wait (`held`) while the checkpointer catches up
 * with the WAL or empties it (checkpointer.ts); nothing is answered earlier for it.
 */

import { closeSync, fdatasync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';

type Waiter = { resolve: () => void; reject: (err: unknown) => void };

export class WalSync {
  private fd: number | undefined;
  private running = false;
  private next: Waiter[] = [];
  /** Completed syncs (diagnostics and tests). */
  rounds = 0;
  /** Resolves when the holds now in force end; undefined when none is. */
  held: Promise<void> | undefined;
  private holders = 0;
  private released: (() => void) | undefined;

  /** The two switches, prepared once (`pragma()` prepares its statement on every call: ~3 µs per group commit). */
  private switches: { normal: Database.Statement; full: Database.Statement } | undefined;

  /** `path`: the database file; ':memory:' has nothing to sync. */
  constructor(
    private path: string,
    sqlite?: Database.Database,
  ) {
    if (sqlite)
      this.switches = {
        normal: sqlite.prepare('PRAGMA synchronous = NORMAL'),
        full: sqlite.prepare('PRAGMA synchronous = FULL'),
      };
  }

  /** Runs `commit` (one transaction) without the per-commit fsync; `sync()` makes it durable later. */
  unsynced<T>(commit: () => T): T {
    const switches = this.switches;
    if (!switches) return commit();
    switches.normal.run();
    try {
      return commit();
    } finally {
      switches.full.run();
    }
  }

  /**
   * Holds the group commits (`GroupCommit` waits for `held` before its next one) until the returned function is
   * called; holds overlap, the commits go on once every one is released.
   */
  hold(): () => void {
    if (this.holders++ === 0) this.held = new Promise((resolve) => (this.released = resolve));
    let once = false;
    return () => {
      if (once) return;
      once = true;
      if (--this.holders > 0) return;
      this.held = undefined;
      this.released?.();
    };
  }

  /** Resolves once every commit made before this call is on disk. */
  sync(): Promise<void> {
    if (this.path === ':memory:') return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.next.push({ resolve, reject });
      if (!this.running) this.round();
    });
  }

  private round(): void {
    const group = this.next;
    this.next = [];
    this.running = true;
    const finish = (err: unknown) => {
      this.running = false;
      this.rounds++;
      for (const w of group) err ? w.reject(err) : w.resolve();
      if (this.next.length > 0) this.round();
    };
    try {
      // The -wal file exists once the first write committed; SQLite keeps it (same inode) while the connection is open.
      this.fd ??= openSync(`${this.path}-wal`, 'r');
    } catch (err) {
      finish(err);
      return;
    }
    fdatasync(this.fd, finish);
  }

  /**
   * Resolves once a sync that began after this call is done, if any sync is running or queued:
   * the background syncs of the last group commits finish before the database closes (closing
   * removes the `-wal` file, which a sync still to start would then fail to open).
   */
  async drain(): Promise<void> {
    if (this.running || this.next.length > 0) await this.sync().catch(() => undefined);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
