/**
 * wrangler.toml against what the Worker and its local run expect: the compatibility date the tests run with, the
 * bindings worker.ts reads (D1 `DB`, R2 `MEDIA`, the three Durable Object classes it exports, each created as a
 * SQLite-backed class by a migration), and [vars] that are all settings the service reads and that it accepts.
 * wrangler itself is not a dependency, so `wrangler deploy` is not run here; this is what would drift unseen.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings, SETTING_NAMES } from '../../src/config.js';
import { COMPATIBILITY_DATE } from '../../src/runtime/miniflare.js';
import { parseBudgetMinShards, parseUserShards } from '../../src/store/durable-object/placement.js';

const ROOT = join(import.meta.dirname, '../..');
const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
const worker = readFileSync(join(ROOT, 'src/runtime/worker.ts'), 'utf8');

/** `key = "value"` lines of one `[section]` (comments and other sections left out). */
function section(name: string): Record<string, string> {
  const start = toml.indexOf(`\n[${name}]\n`);
  expect(start, `[${name}] in wrangler.toml`).toBeGreaterThan(0);
  const body = toml.slice(start + name.length + 4).split(/\n\[/)[0];
  const out: Record<string, string> = {};
  for (const m of body.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"\s*$/gm)) out[m[1]] = m[2];
  return out;
}

const quoted = (key: string) => [...toml.matchAll(new RegExp(`^${key}\\s*=\\s*"([^"]+)"`, 'gm'))].map((m) => m[1]);

describe('wrangler.toml', () => {
  it('runs the Worker entry at the compatibility date the local runs and tests use', () => {
    expect(quoted('main')).toEqual(['src/runtime/worker.ts']);
    expect(quoted('compatibility_date')).toEqual([COMPATIBILITY_DATE]);
  });

  it('binds what worker.ts reads: D1 as DB, R2 as MEDIA, and its three Durable Object classes', () => {
    expect(quoted('binding')).toEqual(['DB', 'MEDIA']);
    for (const binding of ['DB: D1Database', 'MEDIA: R2Bucket']) expect(worker).toContain(binding);
    const objects = quoted('name').filter((n) => n !== 'status-ads');
    expect(objects).toEqual(['USERS', 'CAMPAIGNS', 'TRAFFIC']);
    for (const name of objects) expect(worker).toContain(`${name}: DurableObjectNamespace`);
    const classes = quoted('class_name');
    expect(classes).toEqual(['UserObject', 'CampaignObject', 'TrafficObject']);
    for (const name of classes) expect(worker).toMatch(new RegExp(`export class ${name} extends DurableObject`));
    const sqliteClasses = [...toml.matchAll(/^new_sqlite_classes\s*=\s*\[([^\]]*)\]/gm)].flatMap((m) =>
      [...m[1].matchAll(/"([^"]+)"/g)].map((c) => c[1]),
    );
    expect(sqliteClasses.sort()).toEqual([...classes].sort());
    expect(toml).toContain('migrations_dir = "schema/migrations"');
  });

  it('sets only settings the service reads, with values it accepts', () => {
    const vars = section('vars');
    expect(Object.keys(vars).length).toBeGreaterThan(5);
    for (const name of Object.keys(vars)) expect(SETTING_NAMES, name).toContain(name);
    expect(vars).not.toHaveProperty('ADMIN_KEY');
    expect(vars).not.toHaveProperty('SECRET');
    expect(() => readSettings(vars)).not.toThrow();
    expect(() => parseUserShards(vars.USER_SHARDS)).not.toThrow();
    expect(() => parseBudgetMinShards(vars.BUDGET_MIN_SHARDS)).not.toThrow();
  });
});
