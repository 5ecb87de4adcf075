/**
 * The real Node server (`node --import tsx src/runtime/node.ts`, as `npm start`) as a child process on
 * 127.0.0.1 and a free port, with its own temp data folder and captured logs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { creativeForm } from './media.js';

export const ADMIN = `sk_admin_${'A'.repeat(43)}`;
const ROOT = resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

/**
 * The node flags `npm start` (or another npm script) runs the server with: the words between `node` and `--import`
 * in the tree's package.json script (none for a tree whose script has none). The servers tests start get them, and every Node
 * process the bench starts from a tree (the plain Hono baseline too, so the two compare under the same settings).
 */
export function startFlags(tree: string, script = 'start'): string[] {
  const scripts = JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const words = (scripts?.[script] ?? '').split(/\s+/);
  const node = words.indexOf('node');
  const end = words.indexOf('--import');
  return node >= 0 && end > node ? words.slice(node + 1, end) : [];
}

export interface RealServer {
  /** The node process that serves. */
  proc: ChildProcess;
  /** Its pid: what a crash kills and what /proc measures. */
  pid: number;
  port: number;
  url: string;
  dir: string;
  logs: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the server on `dir` (a new temp folder if absent) and waits until it listens. */
export async function startServer(
  options: { dir?: string; env?: Record<string, string>; worker?: boolean } = {},
): Promise<RealServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'status-ads-server-'));
  const port = await freePort();
  // What `npm start` (or, with `worker`, `npm run start:worker`: workerd behind the local edge, data under
  // DATA_DIR) runs: one node process (the tsx CLI would add a parent that relays signals on a 30 ms timer,
  // which a loaded machine misses and then reports exit 143).
  const entry = options.worker ? 'src/runtime/start-worker.ts' : 'src/runtime/node.ts';
  const flags = startFlags(ROOT, options.worker ? 'start:worker' : 'start');
  const proc = spawn(process.execPath, [...flags, '--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE: join(dir, 'ads.db'),
      MEDIA_DIR: join(dir, 'media'),
      ADMIN_KEY: ADMIN,
      SECRET: 'crash-test-secret',
      RATE_LIMIT_ADVERTISER: '0',
      ...(options.worker ? { DATA_DIR: join(dir, 'worker'), CATALOG_REFRESH_MS: '0' } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    proc.once('exit', (code, signal) => done({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.worker ? 60_000 : 20_000);
  while (!out.includes(options.worker ? 'serving the Worker' : 'serving on')) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`server exited before listening:\n${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { proc, pid: proc.pid!, port, url, dir, logs: () => out, exited };
}

/** Kills the server if it still runs and waits for it to be gone. */
export async function stopServer(server: RealServer | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!server) return;
  if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill(signal);
  await server.exited;
}

export function removeDir(dir: string | undefined) {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** JSON over real HTTP. */
export async function http(server: RealServer, method: string, path: string, key?: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Seeds an advertiser with a campaign and an approved creative, and a feed client, over HTTP. */
export async function seed(server: RealServer, png: Uint8Array, campaign: Record<string, unknown> = {}) {
  const adv = await http(server, 'POST', '/v1/advertisers', ADMIN, { name: 'Bakery' });
  const key = adv.body.apiKey as string;
  const cmp = await http(server, 'POST', '/v1/campaigns', key, {
    name: 'Bread',
    bid: { type: 'cpm', amountMicros: 2_000_000 },
    schedule: { start: new Date(Date.now() - 60_000).toISOString() },
    ...campaign,
  });
  if (cmp.status !== 201) throw new Error(JSON.stringify(cmp.body));
  const form = creativeForm(png, { headline: 'Fresh bread' });
  const up = await fetch(`${server.url}/v1/campaigns/${cmp.body.id}/creatives`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}` },
    body: form,
  });
  const creative = (await up.json()) as { id: string };
  await http(server, 'POST', `/v1/creatives/${creative.id}/review`, ADMIN, { decision: 'approve' });
  const cli = await http(server, 'POST', '/v1/clients', ADMIN, { name: 'Messenger' });
  return {
    advertiserKey: key,
    advertiserId: adv.body.advertiser.id as string,
    campaignId: cmp.body.id as string,
    creativeId: creative.id,
    clientId: cli.body.client.id as string,
    clientKey: cli.body.apiKey as string,
  };
}

/** Process stats from /proc: resident memory (kB), open file descriptors. Linux only. */
export function procStats(pid: number): { rssKb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssKb, fds: readdirSync(`/proc/${pid}/fd`).length };
}
