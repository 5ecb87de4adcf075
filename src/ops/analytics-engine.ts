/**
 * Metrics on Workers: the `Metrics` hooks as Workers Analytics Engine data points
 * (one per request, slot outcome and event), summed later with its SQL API. The
 * layout of blobs and doubles is documented in docs/deploy.md ("Metrics").
 */
import type { Metrics } from './metrics.js';

/** The part of an Analytics Engine dataset binding used here. */
export interface AnalyticsDataset {
  writeDataPoint(point: { blobs?: string[]; doubles?: number[]; indexes?: string[] }): void;
}

export function analyticsEngineMetrics(dataset: AnalyticsDataset): Metrics {
  const write = (blobs: string[], doubles: number[]) => {
    try {
      dataset.writeDataPoint({ blobs, doubles, indexes: [blobs[0]] });
    } catch {
      // Metrics must never fail a request.
    }
  };
  return {
    request: (route, method, status, seconds) => write(['request', route, String(status), method], [seconds]),
    slotRequest: () => write(['slot_request'], [1]),
    slotServed: (bidType, priceMicros) => write(['slot_served', bidType], [priceMicros]),
    unfilled: (reason, count) => write(['slot_unfilled', reason], [count]),
    event: (type, outcome, count) => write(['event', type, outcome], [count]),
    holds: (change, count) => write(['budget_hold', change], [count]),
    // Group commits and the per-process user cache do not exist on Workers.
    commit() {},
    userCache() {},
  };
}
