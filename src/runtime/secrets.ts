/** ADMIN_KEY and SECRET: from the environment, or generated once and kept in the data folder outside production. */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SettingsError, secretWeakness } from '../config.js';

/** `notice` tells the operator about generated or weak secrets [console.log]. */
export function loadSecrets(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  notice: (message: string) => void = (message) => console.log(`[start] ${message}`),
): { adminKey: string; secret: string } {
  if (env.ADMIN_KEY && env.SECRET) {
    for (const name of ['ADMIN_KEY', 'SECRET'] as const) {
      const weakness = secretWeakness(name, env[name] as string);
      if (weakness && env.NODE_ENV === 'production') throw new SettingsError(weakness);
      if (weakness) notice(`${weakness} (accepted outside production)`);
    }
    return { adminKey: env.ADMIN_KEY, secret: env.SECRET };
  }
  if (env.NODE_ENV === 'production') {
    throw new SettingsError('ADMIN_KEY and SECRET must be set when NODE_ENV=production');
  }
  const file = join(dataDir, 'secrets.json');
  let saved: { adminKey?: string; secret?: string } = {};
  if (existsSync(file)) saved = JSON.parse(readFileSync(file, 'utf8'));
  const secrets = {
    adminKey: env.ADMIN_KEY ?? saved.adminKey ?? `sk_admin_${randomBytes(32).toString('base64url')}`,
    secret: env.SECRET ?? saved.secret ?? randomBytes(32).toString('base64url'),
  };
  // Only what was generated is kept in the file: a key or secret the environment gives is never written to disk
  // (keys are stored hashed), and a copy an earlier release wrote there is dropped.
  const kept = {
    adminKey: env.ADMIN_KEY ? (saved.adminKey === env.ADMIN_KEY ? undefined : saved.adminKey) : secrets.adminKey,
    secret: env.SECRET ? (saved.secret === env.SECRET ? undefined : saved.secret) : secrets.secret,
  };
  const generated = [
    !env.ADMIN_KEY && saved.adminKey === undefined && 'ADMIN_KEY',
    !env.SECRET && saved.secret === undefined && 'SECRET',
  ].filter(Boolean);
  if (kept.adminKey !== saved.adminKey || kept.secret !== saved.secret) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(kept, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  if (generated.length > 0) {
    notice(
      `generated ${generated.join(' and ')} and saved ${generated.length > 1 ? 'them' : 'it'} to ${file} (set both in the environment for production)`,
    );
  }
  return secrets;
}
