/**
 * Builds the real service in-process for tests: a real SQLite file in a temp
 * folder, real media on disk, a controllable clock. Drive it with `app.request`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Env, readSettings } from '../../src/config.js';
import { FsMediaStorage } from '../../src/media/fs.js';
import type { Metrics } from '../../src/ops/metrics.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { createService, type ServiceOptions } from '../../src/wiring.js';

import { ADMIN_KEY, apiHelpers } from './api.js';

export { ADMIN_KEY };
export const SECRET = 'test-secret';

export interface TestClock {
  now: number;
  advance(ms: number): void;
}

/** `ops`: logs and metrics to wire in (the store gets the metrics too). */
export async function makeService(
  env: Env = {},
  start = Date.UTC(2026, 10, 25, 12, 0, 0),
  ops: Pick<ServiceOptions, 'log' | 'scrapeMetrics' | 'metricsToken' | 'forecastsOneAtATime'> & { metrics?: Metrics } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'status-ads-'));
  const clock: TestClock = {
    now: start,
    advance(ms) {
      this.now += ms;
    },
  };
  const settings = readSettings({ RATE_LIMIT_ADVERTISER: '0', ...env });
  const store = createSqliteStore({ path: join(dir, 'ads.db'), userCacheSize: settings.userCacheSize, metrics: ops.metrics });
  const service = await createService({
    settings,
    store,
    media: new FsMediaStorage(join(dir, 'media')),
    adminKey: ADMIN_KEY,
    secret: SECRET,
    clock: () => clock.now,
    ...ops,
  });
  const { app } = service;

  const helpers = apiHelpers(
    (path, init) => Promise.resolve(app.request(path, init)),
    () => clock.now,
  );

  async function close() {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  return { ...service, ...helpers, store, settings, clock, dir, close };
}

export type TestService = Awaited<ReturnType<typeof makeService>>;
