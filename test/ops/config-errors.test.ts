/**
 * Each configuration error is one clear line on stderr and exit code 1, never a
 * stack trace: port in use, bad host, database folder missing or not writable,
 * weak secrets in production, setting names that look like typos, a bad LOG_LEVEL.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretWeakness } from '../../src/config.js';
import { cleanup, freePort, type Proc, run, STRONG_ADMIN_KEY, STRONG_SECRET } from './process.js';

let dir: string;
let busy: Server;
let busyPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'status-ads-config-'));
  busyPort = await freePort();
  busy = createServer();
  await new Promise<void>((r) => busy.listen(busyPort, '127.0.0.1', () => r()));
});
afterAll(() => {
  busy.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  const base = {
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE: join(dir, 'ok', 'ads.db'),
    MEDIA_DIR: join(dir, 'ok', 'media'),
    ADMIN_KEY: STRONG_ADMIN_KEY,
    SECRET: STRONG_SECRET,
  };
  mkdirSync(join(dir, 'ok'), { recursive: true });
  let proc: Proc | undefined = run(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], { ...base, ...env });
  const timer = setTimeout(() => proc?.child.kill('SIGKILL'), 20_000);
  try {
    const { code } = await proc.exited;
    return { code, lines: proc.output().trim().split('\n') };
  } finally {
    clearTimeout(timer);
    await cleanup(proc);
    proc = undefined;
  }
}

const cases: [string, Record<string, string>, RegExp][] = [
  ['port in use', {}, /^\[start\] PORT \d+ is already in use on 127\.0\.0\.1/],
  ['a host that is not a host name', { HOST: 'not a host!' }, /^\[start\] HOST must be an IP address or a host name/],
  [
    'a host that is not this machine',
    { HOST: '203.0.113.7' },
    /^\[start\] HOST 203\.0\.113\.7 is not an address of this machine/,
  ],
  [
    'a database folder that does not exist',
    { DATABASE: '/nonexistent-folder/ads.db' },
    /^\[start\] DATABASE: the folder \/nonexistent-folder does not exist/,
  ],
  [
    'a database folder that is not writable',
    { DATABASE: '/proc/ads.db' },
    /^\[start\] DATABASE: the folder \/proc is not writable/,
  ],
  [
    'weak secrets in production',
    { NODE_ENV: 'production', ADMIN_KEY: 'a', SECRET: 'b' },
    /^\[start\] ADMIN_KEY is too weak for production/,
  ],
  [
    'a weak SECRET in production',
    { NODE_ENV: 'production', SECRET: 'password-password-password-12345' },
    /^\[start\] SECRET is too weak for production/,
  ],
  [
    'missing secrets in production',
    { NODE_ENV: 'production', ADMIN_KEY: '', SECRET: '' },
    /^\[start\] ADMIN_KEY and SECRET must be set when NODE_ENV=production/,
  ],
  ['a typo of PORT', { PROT: '9000' }, /^\[start\] Unknown setting PROT: did you mean PORT\?/],
  ['a typo of LOG_LEVEL', { LOGLEVEL: 'debug' }, /^\[start\] Unknown setting LOGLEVEL: did you mean LOG_LEVEL\?/],
  ['a lower-case setting', { secret: 'x' }, /^\[start\] Unknown setting secret: did you mean SECRET\?/],
  [
    'a negative SQLITE_MMAP_MB',
    { SQLITE_MMAP_MB: '-1' },
    /^\[start\] SQLITE_MMAP_MB must be an integer between 0 and 2048, got "-1"/,
  ],
  [
    'a bad LOG_LEVEL',
    { LOG_LEVEL: 'loud' },
    /^\[start\] LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent/,
  ],
];

describe('configuration errors', () => {
  it.each(cases)(
    '%s: one line, exit 1',
    async (_, env, expected) => {
      const { code, lines } = await start({ ...env, PORT: env.PORT ?? (_ === 'port in use' ? String(busyPort) : '0') });
      expect(code, lines.join('\n')).toBe(1);
      expect(lines, lines.join('\n')).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
    },
    30_000,
  );

  it('lets ordinary environment variables through (HOME next to HOST, PATH next to PORT)', async () => {
    const port = await freePort();
    const proc = run(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], {
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE: join(dir, 'ok', 'ads.db'),
      ADMIN_KEY: STRONG_ADMIN_KEY,
      SECRET: STRONG_SECRET,
      NODE_ENV: 'production',
      TERM: 'xterm',
      LANG: 'C.UTF-8',
      USER: 'ops',
    });
    try {
      for (let i = 0; i < 200 && !proc.output().includes('serving on'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(proc.output()).toContain('serving on');
    } finally {
      await cleanup(proc);
    }
  }, 30_000);
});

describe('secret strength', () => {
  it('accepts 32 random bytes in hex or base64 and refuses short, repetitive or word-like secrets', async () => {
    const { randomBytes } = await import('node:crypto');
    for (let i = 0; i < 50; i++) {
      const bytes = randomBytes(32);
      for (const value of [
        bytes.toString('hex'),
        bytes.toString('base64'),
        bytes.toString('base64url'),
        `sk_admin_${bytes.toString('base64url')}`,
      ]) {
        expect(secretWeakness('SECRET', value), value).toBeUndefined();
      }
    }
    for (const weak of [
      'a',
      'x'.repeat(100),
      'ab'.repeat(40),
      'correct horse battery staple',
      randomBytes(16).toString('hex'),
      randomBytes(20).toString('base64url'),
    ]) {
      expect(secretWeakness('SECRET', weak), weak).toMatch(/too weak/);
    }
  });
});
