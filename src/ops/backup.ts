/**
 * A consistent online backup of the Node store while the server runs (the
 * command is backup-cli.ts). FILE gets the SQLite database,
 * copied with better-sqlite3's online backup API in one step (one read snapshot,
 * so it never restarts under write load); `FILE.media/` gets every media file
 * that database references, in MEDIA_DIR's layout (`ab/abcdef…`), each checked
 * against its SHA-256. Restore: see docs/deploy.md ("Backups").
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SettingsError } from '../config.js';

export interface BackupResult {
  database: string;
  mediaDir: string;
  pages: number;
  media: number;
  integrity: string;
}

/** A backup that cannot be made: one line from the command (backup-cli.ts), exit 1, and nothing left behind. */
export class BackupError extends SettingsError {}

/** Backs up `database` (and the media it references, from `mediaDir`) to `out` and `out.media/`. */
export async function backup(options: { database: string; mediaDir: string; out: string }): Promise<BackupResult> {
  const { database, mediaDir } = options;
  const out = resolve(options.out);
  if (!existsSync(database)) throw new SettingsError(`DATABASE ${database} does not exist`);
  if (!existsSync(mediaDir)) throw new SettingsError(`MEDIA_DIR ${mediaDir} does not exist (set it as for npm start)`);
  if (!existsSync(dirname(out))) throw new SettingsError(`--out: the folder ${dirname(out)} does not exist`);
  if (existsSync(out) || existsSync(`${out}.media`)) throw new SettingsError(`--out: ${out} already exists; choose a new name`);

  // Written under temporary names and renamed at the end: a half-made backup never looks like a whole one, and a
  // failed one leaves nothing.
  const partial = `${out}.partial`;
  const partialMedia = `${out}.media.partial`;
  const removePartial = () => {
    rmSync(partial, { force: true });
    rmSync(partialMedia, { recursive: true, force: true });
  };
  removePartial();
  try {
    const { pages, shas } = await copyDatabase(database, partial);
    mkdirSync(partialMedia, { recursive: true });
    for (const sha of shas) {
      const from = join(mediaDir, sha.slice(0, 2), sha);
      if (!existsSync(from)) throw new BackupError(`media ${sha} is in the database but not in MEDIA_DIR ${mediaDir} (${from})`);
      const bytes = readFileSync(from);
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== sha) throw new BackupError(`media ${from} does not match its SHA-256 (${actual})`);
      mkdirSync(join(partialMedia, sha.slice(0, 2)), { recursive: true });
      writeFileSync(join(partialMedia, sha.slice(0, 2), sha), bytes, { flush: true });
    }
    renameSync(partialMedia, `${out}.media`);
    renameSync(partial, out);
    return { database: out, mediaDir: `${out}.media`, pages, media: shas.length, integrity: 'ok' };
  } catch (err) {
    removePartial();
    throw err;
  }
}

/** The database copied to `to` in one step, checked, and the media it references. */
async function copyDatabase(database: string, to: string): Promise<{ pages: number; shas: string[] }> {
  let pages: number;
  let source: Database.Database | undefined;
  try {
    source = new Database(database, { fileMustExist: true });
    source.pragma('busy_timeout = 5000');
    // One step for all pages: one read snapshot, consistent, and never restarted by the server's writes.
    ({ totalPages: pages } = await source.backup(to, { progress: () => 0x7fffffff }));
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    throw new BackupError(`DATABASE ${database} cannot be backed up: ${message}${code ? ` (${code})` : ''}`);
  } finally {
    source?.close();
  }
  const copy = new Database(to);
  try {
    copy.pragma('journal_mode = DELETE');
    const integrity = String(copy.pragma('integrity_check', { simple: true }));
    if (integrity !== 'ok') throw new BackupError(`the backup failed its integrity check: ${integrity}`);
    const shas = (copy.prepare('SELECT sha256 FROM media ORDER BY sha256').all() as { sha256: string }[]).map((r) => r.sha256);
    return { pages, shas };
  } finally {
    copy.close();
  }
}
