/**
 * The Worker bundle running inside workerd through Miniflare, in memory, with
 * the same helper surface as ./service.ts (call, upload, newAdvertiser,
 * newClient, seedCampaign) so API tests can run against either. No controllable
 * clock: workerd's clock is real time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../../src/config.js';
import { bundleWorker, startLocalWorker } from '../../src/runtime/miniflare.js';
import { ADMIN_KEY, apiHelpers } from './api.js';
import { SECRET } from './service.js';

export { ADMIN_KEY };

export async function makeWorkerService(env: Env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-worker-'));
  const scriptPath = join(dir, 'worker.js');
  await bundleWorker(scriptPath);
  const bindings: Record<string, string> = {
    ADMIN_KEY,
    SECRET,
    RATE_LIMIT_ADVERTISER: '0',
    CATALOG_REFRESH_MS: '0',
    LOG_LEVEL: 'warn',
  };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) bindings[k] = v;
  const mf = await startLocalWorker({ scriptPath, bindings });

  async function request(path: string, init: RequestInit = {}) {
    return (await mf.dispatchFetch(`http://worker.test${path}`, init as never)) as unknown as Response;
  }

  const helpers = apiHelpers(request, Date.now);

  async function close() {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }

  /** Hono's `app.request(path, init)` shape, so API tests written for ./service.ts run unchanged. */
  const app = { request: (path: string, init?: RequestInit) => request(path, init) };

  return { mf, app, request, ...helpers, close };
}

export type WorkerService = Awaited<ReturnType<typeof makeWorkerService>>;
