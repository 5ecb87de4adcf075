/**
 * Start-up checks for the Node runtime that turn a bad deployment into one clear
 * line (a SettingsError) instead of a stack trace: the listening address and the
 * folders the database and media live in.
 */
import { closeSync, existsSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { SettingsError } from '../config.js';

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** HOST must be an IP address or a host name; whether it is this machine's is known only at listen time. */
export function checkHost(host: string): string {
  if (isIP(host) || HOSTNAME.test(host)) return host;
  throw new SettingsError(`HOST must be an IP address or a host name of this machine (e.g. 0.0.0.0 or 127.0.0.1), got "${host}"`);
}

/** Turns a listen error into the one line an operator needs. */
export function listenError(err: NodeJS.ErrnoException, host: string, port: number): SettingsError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new SettingsError(`PORT ${port} is already in use on ${host}: stop the other process or choose another PORT`);
    case 'EACCES':
      return new SettingsError(`PORT ${port} on ${host} needs privileges this user does not have: choose a PORT above 1023`);
    case 'EADDRNOTAVAIL':
      return new SettingsError(`HOST ${host} is not an address of this machine: use 0.0.0.0, 127.0.0.1 or one of its addresses`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new SettingsError(`HOST ${host} does not resolve to an address of this machine`);
    default:
      return new SettingsError(`Cannot listen on ${host}:${port}: ${err.message}`);
  }
}

/**
 * The folder a setting points into must exist and be writable. `createIfMissing`
 * is for the defaults (./data): an explicit path whose folder is missing is more
 * likely a typo than a wish for a fresh, empty database.
 */
export function checkFolder(setting: string, dir: string, createIfMissing: boolean): void {
  if (!existsSync(dir)) {
    if (!createIfMissing)
      throw new SettingsError(`${setting}: the folder ${dir} does not exist; create it or point ${setting} elsewhere`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new SettingsError(
        `${setting}: cannot create the folder ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  if (!statSync(dir).isDirectory()) throw new SettingsError(`${setting}: ${dir} is not a folder`);
  // access(W_OK) says yes to root on a read-only mount; creating a file is the honest test.
  const probe = join(dir, `.write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    throw new SettingsError(
      `${setting}: the folder ${dir} is not writable by this process (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/** An existing file must be writable too (e.g. a database restored read-only). */
export function checkWritableFile(setting: string, file: string): void {
  if (!existsSync(file)) return;
  try {
    closeSync(openSync(file, 'r+'));
  } catch (err) {
    throw new SettingsError(
      `${setting}: ${file} is not writable by this process (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}
