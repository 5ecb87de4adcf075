#!/usr/bin/env node
/**
 * `npm run backup -- --out FILE` (production: `node dist/src/ops/backup-cli.js --out FILE`):
 * backs up DATABASE and the media in MEDIA_DIR (same settings and defaults as `npm start`)
 * while the server keeps serving. Prints one JSON line; exit 1 with one line on a bad setting.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SettingsError } from '../config.js';
import { backup } from './backup.js';

async function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
  if (!values.out) throw new SettingsError('usage: npm run backup -- --out FILE   (DATABASE and MEDIA_DIR as for npm start)');
  const database = resolve(process.env.DATABASE ?? './data/ads.db');
  const mediaDir = resolve(process.env.MEDIA_DIR ?? './data/media');
  const result = await backup({ database, mediaDir, out: values.out });
  console.log(JSON.stringify({ msg: 'backup done', ...result }));
}

main().catch((err) => {
  const oneLine = err instanceof SettingsError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  console.error(oneLine ? `[backup] ${(err as Error).message}` : err);
  process.exit(1);
});
