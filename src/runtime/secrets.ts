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
  if (secrets.adminKey !== saved.adminKey || secrets.secret !== saved.secret) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    notice(`generated ADMIN_KEY/SECRET and saved them to ${file} (set both in the environment for production)`);
  }
  return secrets;
}
