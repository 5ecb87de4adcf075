/**
 * Each configuration error is one clear line on stderr and exit code 1, never a
 * stack trace: port in use, bad host, database folder missing or not writable,
 * weak secrets in production, setting names that look like typos, a bad LOG_LEVEL.
 *
 * Every case's line is checked in process, through the checks `npm start` runs in
 * main()'s order (src/runtime/node.ts): a process start costs ~2 s of CPU. Real
 * starts then prove main() turns a refusal at each kind of check into that one line
 * and exit 1: the first check (setting names), the host, the database folder, the
 * secrets in production and the listen itself (after the engine thread started);
 * the other test files start it with good settings.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSettingNames, readSettings, SettingsError, secretWeakness } from '../../src/config.js';
import { checkFolder, checkHost, checkWritableFile, listenError } from '../../src/ops/node-checks.js';
import { loadSecrets } from '../../src/runtime/secrets.js';
import { cleanup, freePort, type Proc, run, STRONG_ADMIN_KEY, STRONG_SECRET } from './process.js';

let dir: string;
let busy: Server;
let busyPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'status-ads-config-'));
  mkdirSync(join(dir, 'ok'), { recursive: true });
  busyPort = await freePort();
  busy = createServer();
  await new Promise<void>((r) => busy.listen(busyPort, '127.0.0.1', () => r()));
});
afterAll(() => {
  busy.close();
  rmSync(dir, { recursive: true, force: true });
});

const base = () => ({
  HOST: '127.0.0.1',
  PORT: '0',
  DATABASE: join(dir, 'ok', 'ads.db'),
  MEDIA_DIR: join(dir, 'ok', 'media'),
  ADMIN_KEY: STRONG_ADMIN_KEY,
  SECRET: STRONG_SECRET,
});

async function start(env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  let proc: Proc | undefined = run(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], { ...base(), ...env });
  // A hang is killed well before the test's limit; 'port in use' starts the engine thread first, which
  // takes over 20 s on a machine loaded several times over.
  const timer = setTimeout(() => proc?.child.kill('SIGKILL'), 50_000);
  try {
    const { code } = await proc.exited;
    return { code, lines: proc.output().trim().split('\n') };
  } finally {
    clearTimeout(timer);
    await cleanup(proc);
    proc = undefined;
  }
}

/**
 * The line `npm start` would print for `env`, or undefined if every check passes: main()'s
 * checks in its order, up to listening on HOST:PORT (the server is closed again at once).
 */
async function firstRefusal(env: Record<string, string>): Promise<string | undefined> {
  try {
    checkSettingNames(env);
    const settings = readSettings(env);
    const host = checkHost(env.HOST ?? '0.0.0.0');
    const database = resolve(env.DATABASE ?? './data/ads.db');
    checkFolder('DATABASE', dirname(database), env.DATABASE === undefined);
    checkWritableFile('DATABASE', database);
    checkFolder('MEDIA_DIR', resolve(env.MEDIA_DIR ?? './data/media'), true);
    loadSecrets(env, dirname(database), () => {});
    const server = createServer();
    await new Promise<void>((ok, fail) => {
      server.once('error', (err) => fail(listenError(err, host, settings.port)));
      server.listen(settings.port, host, () => ok());
    });
    await new Promise((r) => server.close(r));
    return undefined;
  } catch (err) {
    if (err instanceof SettingsError) return `[start] ${err.message}`;
    throw err;
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
  [
    'a PUBLIC_URL without a scheme',
    { PUBLIC_URL: 'ads.example.com' },
    /^\[start\] PUBLIC_URL must be an absolute http\(s\) URL such as https:\/\/ads\.example\.com, got "ads\.example\.com"/,
  ],
  [
    'a CORS origin a browser never sends',
    { CORS_ORIGINS: 'https://app.example, admin.example' },
    /^\[start\] CORS_ORIGINS must be comma-separated origins such as https:\/\/app\.example\.com \(scheme, host and port only\), got "admin\.example"/,
  ],
];

/** One real start per kind of check (see the header). */
const started = new Set([
  'port in use',
  'a host that is not a host name',
  'a database folder that does not exist',
  'weak secrets in production',
  'a typo of PORT',
]);
const caseEnv = (name: string, env: Record<string, string>) => ({
  ...env,
  PORT: env.PORT ?? (name === 'port in use' ? String(busyPort) : '0'),
});

describe('configuration errors', () => {
  it.each(cases)('%s: refused with its line, in process', async (name, env, expected) => {
    const line = await firstRefusal({ ...base(), ...caseEnv(name, env) });
    expect(line).toMatch(expected);
    expect(line).not.toContain('\n');
  });

  it('refuses nothing in a good environment, in process', async () => {
    expect(await firstRefusal(base())).toBeUndefined();
    const urls = { PUBLIC_URL: 'https://cdn.example.com/ads/', CORS_ORIGINS: 'https://app.example, http://localhost:5173' };
    expect(await firstRefusal({ ...base(), ...urls })).toBeUndefined();
    expect(readSettings(urls)).toMatchObject({
      publicUrl: 'https://cdn.example.com/ads',
      corsOrigins: ['https://app.example', 'http://localhost:5173'],
    });
  });

  it.each(cases.filter(([name]) => started.has(name)))(
    '%s: the server itself prints that one line, exit 1',
    async (name, env, expected) => {
      const { code, lines } = await start(caseEnv(name, env));
      expect(code, lines.join('\n')).toBe(1);
      expect(lines, lines.join('\n')).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
    },
    60_000,
  );

  it('lets ordinary environment variables through (HOME next to HOST, PATH next to PORT), in process', async () => {
    const ordinary = { HOME: '/home/ops', PATH: '/usr/bin:/bin', TERM: 'xterm', LANG: 'C.UTF-8', USER: 'ops' };
    expect(await firstRefusal({ ...base(), NODE_ENV: 'production', ...ordinary })).toBeUndefined();
  });
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
    // 32 random bytes whose base64url has, by chance, no digit, "-" or "_" (seen once in a full run).
    expect(secretWeakness('SECRET', 'UCddWbqeNpXxVCneKlLqzNLkNtECdvXYElvcZAEtIqk')).toBeUndefined();
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

describe('secrets kept in the data folder (npm start and npm run start:worker)', () => {
  it('saves only what it generated: a key or secret from the environment is never written to disk', async () => {
    const { existsSync, readFileSync, writeFileSync } = await import('node:fs');
    const folder = mkdtempSync(join(tmpdir(), 'status-ads-secrets-'));
    const file = join(folder, 'secrets.json');
    const notices: string[] = [];
    try {
      // ADMIN_KEY given, SECRET generated: only the secret is saved.
      const first = loadSecrets({ ADMIN_KEY: STRONG_ADMIN_KEY }, folder, (m) => notices.push(m));
      expect(first.adminKey).toBe(STRONG_ADMIN_KEY);
      expect(readFileSync(file, 'utf8')).not.toContain(STRONG_ADMIN_KEY);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ secret: first.secret });
      expect(notices).toEqual([`generated SECRET and saved it to ${file} (set both in the environment for production)`]);
      // The same start again: the saved secret is used, nothing written, nothing said.
      expect(loadSecrets({ ADMIN_KEY: STRONG_ADMIN_KEY }, folder, (m) => notices.push(m)).secret).toBe(first.secret);
      expect(notices).toHaveLength(1);
      // SECRET given, ADMIN_KEY generated: the secret from the environment is not written, the saved one is kept.
      const second = loadSecrets({ SECRET: STRONG_SECRET }, folder, (m) => notices.push(m));
      expect(second.secret).toBe(STRONG_SECRET);
      expect(readFileSync(file, 'utf8')).not.toContain(STRONG_SECRET);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ adminKey: second.adminKey, secret: first.secret });
      expect(notices[1]).toMatch(/^generated ADMIN_KEY and saved it to /);
      // A copy of an environment value an earlier release saved is dropped.
      writeFileSync(file, JSON.stringify({ adminKey: STRONG_ADMIN_KEY, secret: first.secret }));
      loadSecrets({ ADMIN_KEY: STRONG_ADMIN_KEY }, folder, (m) => notices.push(m));
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ secret: first.secret });
      expect(notices).toHaveLength(2);
      // Both given: no file at all.
      rmSync(file);
      loadSecrets({ ADMIN_KEY: STRONG_ADMIN_KEY, SECRET: STRONG_SECRET }, folder, () => {});
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
