/**
 * `npm run backup` while the real server is under load: the backup passes
 * `PRAGMA integrity_check`, holds every event acknowledged before it started,
 * holds nothing the live database does not, carries the media, and restores:
 * a server started on the copy is ready and serves the same media bytes.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { apiHelpers } from '../helpers/api.js';
import { cleanup, freePort, type Proc, run, STRONG_ADMIN_KEY, STRONG_SECRET, waitForOutput } from './process.js';

let procs: Proc[] = [];
let dir: string | undefined;
afterEach(async () => {
  for (const p of procs) await cleanup(p);
  procs = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startServer(database: string, mediaDir: string) {
  const port = await freePort();
  const proc = run(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], {
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE: database,
    MEDIA_DIR: mediaDir,
    ADMIN_KEY: STRONG_ADMIN_KEY,
    SECRET: STRONG_SECRET,
    RATE_LIMIT_ADVERTISER: '0',
  });
  procs.push(proc);
  await waitForOutput(proc, 'serving on http');
  const url = `http://127.0.0.1:${port}`;
  return { proc, url, api: apiHelpers((path, init) => fetch(url + path, init), Date.now) };
}

const eventKeys = (file: string, where = '1 = 1', args: unknown[] = []) => {
  const db = new Database(file, { readonly: true });
  try {
    return new Set(
      (db.prepare(`SELECT reservation || '/' || type AS k FROM events WHERE ${where}`).all(...args) as { k: string }[]).map(
        (r) => r.k,
      ),
    );
  } finally {
    db.close();
  }
};

describe('npm run backup', () => {
  it('takes a consistent backup under load that restores with every acknowledged event and the media', async () => {
    dir = mkdtempSync(join(tmpdir(), 'status-ads-backup-'));
    const database = join(dir, 'live', 'ads.db');
    const mediaDir = join(dir, 'live', 'media');
    (await import('node:fs')).mkdirSync(join(dir, 'live'));
    const server = await startServer(database, mediaDir);
    const { api } = server;
    // Operator calls use the admin key the helpers know; this server has its own.
    const asAdmin = (method: string, path: string, body?: unknown) => api.call(method, path, STRONG_ADMIN_KEY, body);
    const advertiser = (await asAdmin('POST', '/v1/advertisers', { name: 'Bakery' })).body;
    const campaign = await api.call('POST', '/v1/campaigns', advertiser.apiKey, {
      name: 'Bread',
      bid: { type: 'cpm', amountMicros: 2_000_000 },
      schedule: { start: new Date(Date.now() - 60_000).toISOString() },
    });
    const { png } = await import('../helpers/media.js');
    const image = png(90, 160, 7);
    const creative = await api.upload(advertiser.apiKey, campaign.body.id, image);
    expect(creative.status).toBe(201);
    expect((await asAdmin('POST', `/v1/creatives/${creative.body.id}/review`, { decision: 'approve' })).status).toBe(200);
    const client = (await asAdmin('POST', '/v1/clients', { name: 'Messenger' })).body;

    // Load: four loops of slot requests and impression events until told to stop.
    let stop = false;
    let acknowledged = 0;
    const loops = Array.from({ length: 4 }, async (_, loop) => {
      for (let i = 0; !stop; i++) {
        const slots = await api.call('POST', '/v1/slots', client.apiKey, { user: `user-${loop}-${i}`, statuses: 10 });
        if (slots.status !== 200 || slots.body.slots.length === 0) continue;
        const events = await api.call('POST', '/v1/events', client.apiKey, {
          events: slots.body.slots.map((s: { token: string }) => ({ token: s.token, type: 'impression' })),
        });
        expect(events.status).toBe(200);
        acknowledged += events.body.results.filter((r: { status: string }) => r.status === 'accepted').length;
      }
    });
    while (acknowledged < 40) await new Promise((r) => setTimeout(r, 20));

    // Everything recorded by now was acknowledged before the backup started; the backup must hold it all.
    const startedAt = Date.now();
    const out = join(dir, 'backup.db');
    const backup = run('npm', ['run', '--silent', 'backup', '--', '--out', out], { DATABASE: database, MEDIA_DIR: mediaDir });
    procs.push(backup);
    expect((await backup.exited).code, backup.output()).toBe(0);
    const ackedDuring = acknowledged;
    stop = true;
    await Promise.all(loops);
    expect(JSON.parse(backup.output().trim().split('\n').at(-1)!)).toMatchObject({ integrity: 'ok', media: 1 });

    const mediaPath = new URL(creative.body.media.url, server.url).pathname;
    const served = new Uint8Array(await (await fetch(server.url + mediaPath)).arrayBuffer());
    expect(served.length).toBeGreaterThan(0);

    // Stop the live server cleanly: its database now holds every acknowledged event.
    server.proc.child.kill('SIGTERM');
    expect((await server.proc.exited).code).toBe(0);

    const copy = new Database(out, { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    copy.close();
    const live = eventKeys(database);
    const before = eventKeys(database, 'at < ?', [startedAt]);
    const backedUp = eventKeys(out);
    expect(live.size).toBe(acknowledged);
    expect(before.size).toBeGreaterThanOrEqual(40);
    for (const key of before) expect(backedUp.has(key), key).toBe(true);
    for (const key of backedUp) expect(live.has(key), key).toBe(true);
    expect(backedUp.size).toBeLessThanOrEqual(ackedDuring);

    // Restore: the copy and its media folder are a working data folder.
    const restored = await startServer(out, `${out}.media`);
    expect((await restored.api.call('GET', '/readyz', undefined)).status).toBe(200);
    const media = await fetch(restored.url + mediaPath);
    expect(media.status).toBe(200);
    expect(new Uint8Array(await media.arrayBuffer())).toEqual(served);
    const report = await restored.api.call(
      'GET',
      `/v1/reports?campaign=${campaign.body.id}&from=2020-01-01&to=2100-01-01`,
      advertiser.apiKey,
    );
    expect(report.status).toBe(200);
    expect(report.body.rows.reduce((sum: number, r: { impressions: number }) => sum + r.impressions, 0)).toBe(backedUp.size);
    expect(readFileSync(out).subarray(0, 15).toString()).toBe('SQLite format 3');
  }, 120_000);
});
