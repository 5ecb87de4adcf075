/**
 * The part of Node's engine side both ways of running it share (ENGINE_THREAD on: engine-worker.ts on its
 * thread; off: node.ts on the one thread): the SQLite store, the timed read-back of live budget holds, and
 * the campaigns-out-of-budget gauge over it.
 */
import type { Settings } from '../config.js';
import type { StoreMetrics } from '../ops/metrics.js';
import { createSqliteStore } from '../store/sqlite/index.js';
import { outOfBudgetGauge } from '../wiring.js';

export function openEngineStore(settings: Settings, database: string, metrics: StoreMetrics) {
  const store = createSqliteStore({
    path: database,
    userCacheSize: settings.userCacheSize,
    mmapBytes: settings.sqliteMmapMb * 2 ** 20,
    walRestartBytes: settings.walRestartMb * 2 ** 20,
    metrics,
  });
  return {
    store,
    /**
     * Before the server listens: the first slot requests find every campaign's live holds in memory (a restart
     * with hundreds of thousands of them reads them for seconds, which would otherwise stall those requests).
     */
    loadHolds(): { holds: number; holdsMs: number } {
      const reading = performance.now();
      const holds = store.loadHolds(Date.now());
      return { holds, holdsMs: Math.round(performance.now() - reading) };
    },
    /** The gauge, read when /metrics is scraped (a walk of the servable campaigns' budget accounts, in slices). */
    outOfBudget: outOfBudgetGauge(store, Date.now),
  };
}
