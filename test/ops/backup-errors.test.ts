/**
 * `npm run backup` refusals: a missing MEDIA_DIR, a media file the database names but MEDIA_DIR lacks, and a
 * DATABASE that is not SQLite are each one line (the command's `[backup] …`, exit 1), never a stack trace, and a
 * failed backup leaves no `FILE.partial` or `FILE.media.partial` behind.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/ops/backup.js';
import { makeService, type TestService } from '../helpers/service.js';
import { cleanup, run } from './process.js';

let s: TestService;
let database: string;
let outDir: string;
beforeAll(async () => {
  s = await makeService();
  await s.seedCampaign();
  database = join(s.dir, 'ads.db');
  outDir = join(s.dir, 'backups');
  mkdirSync(outDir);
  mkdirSync(join(s.dir, 'empty-media'));
  writeFileSync(join(s.dir, 'not-a-database.db'), 'hello, not SQLite\n'.repeat(100));
});
afterAll(() => s.close());

describe('npm run backup: what it refuses', () => {
  it.each([
    [
      'a MEDIA_DIR that does not exist',
      () => ({ database, mediaDir: join(s.dir, 'nowhere') }),
      /^MEDIA_DIR .*nowhere does not exist/,
    ],
    [
      'a media file missing from MEDIA_DIR',
      () => ({ database, mediaDir: join(s.dir, 'empty-media') }),
      /^media [0-9a-f]{64} is in the database but not in MEDIA_DIR .*empty-media/,
    ],
    [
      'a DATABASE that is not SQLite',
      () => ({ database: join(s.dir, 'not-a-database.db'), mediaDir: join(s.dir, 'media') }),
      /^DATABASE .*not-a-database\.db cannot be backed up: file is not a database \(SQLITE_NOTADB\)$/,
    ],
  ])('%s: a BackupError naming it, and nothing left in the folder', async (_name, options, message) => {
    const out = join(outDir, 'b.db');
    const failed = await backup({ ...options(), out }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(message);
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('the command prints that one line and exits 1', async () => {
    const proc = run('npm', ['run', '--silent', 'backup', '--', '--out', join(outDir, 'b.db')], {
      DATABASE: database,
      MEDIA_DIR: join(s.dir, 'empty-media'),
    });
    try {
      expect((await proc.exited).code).toBe(1);
      expect(proc.output().trim().split('\n')).toEqual([
        expect.stringMatching(/^\[backup\] media [0-9a-f]{64} is in the database but not in MEDIA_DIR /),
      ]);
      expect(readdirSync(outDir)).toEqual([]);
    } finally {
      await cleanup(proc);
    }
  }, 60_000);

  it('still backs up a whole data folder', async () => {
    const out = join(outDir, 'good.db');
    const result = await backup({ database, mediaDir: join(s.dir, 'media'), out });
    expect(result).toMatchObject({ integrity: 'ok', media: 1 });
    expect(readdirSync(outDir).sort()).toEqual(['good.db', 'good.db.media']);
    rmSync(out);
    rmSync(`${out}.media`, { recursive: true });
  });
});
