/**
 * The real server (`tsx src/runtime/node.ts`) on a temporary data folder: serve a
 * slot, record its impression, SIGKILL, restart on the same files, and find the
 * impression (acknowledged events are durable). Then SIGTERM exits cleanly.
 * tsx runs the server in a child process, so each server gets its own process
 * group and signals go to the whole group, as a crash or a supervisor would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creativeForm, png } from '../helpers/media.js';
import { freePort } from '../helpers/server.js';

const ADMIN_KEY = 'runtime-admin-key-0123456789';
const children = new Set<ChildProcess>();
/** What each server wrote so far (stdout and stderr). */
const outputs = new Map<ChildProcess, () => string>();
let dir: string;
let port: number;

async function start(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/runtime/node.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE: join(dir, 'ads.db'),
      MEDIA_DIR: join(dir, 'media'),
      ADMIN_KEY,
      SECRET: 'runtime-secret',
      RATE_LIMIT_ADVERTISER: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  outputs.set(child, () => output);
  const deadline = Date.now() + 20_000;
  // Wait for this process to say it is serving: a leftover server on the port must not pass for it.
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`server exited early (${child.exitCode}): ${output}`);
    if (output.includes('serving on http')) {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return child;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not start: ${output}`);
}

/** Signals the server's process group (the one node process `npm start` also runs). */
function signal(child: ChildProcess, name: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, name);
  } catch {
    // already gone
  }
}

/** Resolves once nothing answers on the port any more. */
async function portClosed() {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the killed server still answers');
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function call(method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'status-ads-runtime-'));
  port = await freePort();
});

afterAll(async () => {
  for (const child of children) signal(child, 'SIGKILL');
  for (const child of children) await exited(child);
  rmSync(dir, { recursive: true, force: true });
});

describe('node runtime', () => {
  it('keeps an acknowledged impression across SIGKILL and restart', async () => {
    let server = await start();
    const advertiser = await call('POST', '/v1/advertisers', ADMIN_KEY, { name: 'Bakery' });
    expect(advertiser.status).toBe(201);
    const advertiserKey = advertiser.body.apiKey;
    const campaign = await call('POST', '/v1/campaigns', advertiserKey, {
      name: 'Bread',
      bid: { type: 'cpm', amountMicros: 2_000_000 },
    });
    expect(campaign.status).toBe(201);
    const form = creativeForm(png(90, 160, 11), { headline: 'Fresh bread' });
    const upload = await fetch(`http://127.0.0.1:${port}/v1/campaigns/${campaign.body.id}/creatives`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${advertiserKey}` },
      body: form,
    });
    expect(upload.status).toBe(201);
    const creative = (await upload.json()) as { id: string };
    expect((await call('POST', `/v1/creatives/${creative.id}/review`, ADMIN_KEY, { decision: 'approve' })).status).toBe(200);
    const client = await call('POST', '/v1/clients', ADMIN_KEY, { name: 'Messenger' });
    const clientKey = client.body.apiKey;

    const slots = await call('POST', '/v1/slots', clientKey, { user: 'alice', statuses: 10 });
    expect(slots.status).toBe(200);
    expect(slots.body.slots).toHaveLength(1);
    const token = slots.body.slots[0].token;
    const first = await call('POST', '/v1/events', clientKey, { events: [{ token, type: 'impression' }] });
    expect(first.body.results).toEqual([{ status: 'accepted' }]);
    // A slot never seen: its budget hold is live across the restart (alice's was charged by her impression).
    expect((await call('POST', '/v1/slots', clientKey, { user: 'bob', statuses: 10 })).body.slots).toHaveLength(1);

    signal(server, 'SIGKILL');
    expect((await exited(server)).signal).toBe('SIGKILL');
    await portClosed();

    server = await start();
    // The live hold was read back before the server listened (its start line says so), not inside its first slot requests.
    expect(outputs.get(server)?.()).toMatch(/"holds":1,"holdsMs":\d+,"msg":"serving on http/);
    const day = (offset: number) => new Date(Date.now() + offset).toISOString().slice(0, 10);
    const report = await call(
      'GET',
      `/v1/reports?campaign=${campaign.body.id}&from=${day(-86_400_000)}&to=${day(86_400_000)}`,
      advertiserKey,
    );
    expect(report.status).toBe(200);
    expect(report.body.rows.reduce((n: number, r: { impressions: number }) => n + r.impressions, 0)).toBe(1);
    const replay = await call('POST', '/v1/events', clientKey, { events: [{ token, type: 'impression' }] });
    expect(replay.body.results).toEqual([{ status: 'duplicate' }]);
    // Keys, catalog and media survived too.
    expect((await call('GET', '/v1/me', advertiserKey)).status).toBe(200);
    const media = await fetch(`http://127.0.0.1:${port}${slots.body.slots[0].ad.media.url}`);
    expect(media.status).toBe(200);
    await media.arrayBuffer();

    signal(server, 'SIGTERM');
    expect(await exited(server)).toEqual({ code: 0, signal: null });
    await portClosed();
  });
});
