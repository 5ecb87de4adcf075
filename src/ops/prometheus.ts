/**
 * Metrics on Node: the `Metrics` hooks as prom-client counters and histograms in
 * their own registry, served as Prometheus text by GET /metrics. Gauges that are
 * cheaper to read than to track (cache size, campaigns out of budget) are read
 * at scrape time.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Metrics, UNFILLED_SLOT_REASONS } from './metrics.js';

export interface PrometheusGauges {
  /** Users whose state is in the in-process cache. */
  userCacheSize?: () => number;
  /** Servable campaigns whose remaining budget cannot pay for one more billable event. */
  campaignsOutOfBudget?: () => number;
}

export interface PrometheusMetrics extends Metrics {
  registry: Registry;
  /** The exposition text and its content type. */
  scrape(): Promise<{ text: string; contentType: string }>;
}

export function createPrometheusMetrics(gauges: PrometheusGauges = {}): PrometheusMetrics {
  const registry = new Registry();
  // Process, heap, GC and event-loop lag (nodejs_eventloop_lag_seconds and its percentiles).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const registers = [registry];

  const requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers,
  });
  const slotRequests = new Counter({ name: 'ads_slot_requests_total', help: 'Slot requests decided', registers });
  const served = new Counter({
    name: 'ads_slots_served_total',
    help: 'Ads placed in slot responses',
    labelNames: ['bid_type'] as const,
    registers,
  });
  const unfilled = new Counter({
    name: 'ads_slots_unfilled_total',
    help: 'Places a feed could hold that got no ad, by reason (see docs/deploy.md)',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of UNFILLED_SLOT_REASONS) unfilled.inc({ reason }, 0);
  const prices = new Histogram({
    name: 'ads_clearing_price_micros',
    help: 'Clearing price per billable event (impression for cpm, click for cpc), in micros',
    labelNames: ['bid_type'] as const,
    buckets: [10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 100_000, 1_000_000],
    registers,
  });
  const events = new Counter({
    name: 'ads_events_total',
    help: 'Feed events by type and outcome (accepted, duplicate or the rejection reason)',
    labelNames: ['type', 'outcome'] as const,
    registers,
  });
  const holds = new Counter({
    name: 'ads_budget_holds_total',
    help: 'Budget holds taken at serve time, released (charged or given back) and expired unused',
    labelNames: ['change'] as const,
    registers,
  });
  for (const change of ['taken', 'released', 'expired']) holds.inc({ change }, 0);
  const commitSeconds = new Histogram({
    name: 'ads_store_commit_seconds',
    help: 'Duration of one group commit (transaction and fsync), by queue',
    labelNames: ['kind'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const commitGroup = new Histogram({
    name: 'ads_store_commit_group_size',
    help: 'Callers sharing one group commit, by queue',
    labelNames: ['kind'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers,
  });
  const cacheLookups = new Counter({
    name: 'ads_user_cache_lookups_total',
    help: 'User-state lookups, answered from the in-process cache (hit) or the database (miss)',
    labelNames: ['result'] as const,
    registers,
  });
  let hits = 0;
  let misses = 0;
  new Gauge({
    name: 'ads_user_cache_hit_ratio',
    help: 'Share of user-state lookups answered from the cache since start',
    registers,
    collect() {
      this.set(hits + misses === 0 ? 0 : hits / (hits + misses));
    },
  });
  new Gauge({
    name: 'ads_user_cache_entries',
    help: 'Users whose state is in the in-process cache',
    registers,
    collect() {
      this.set(gauges.userCacheSize?.() ?? 0);
    },
  });
  new Gauge({
    name: 'ads_campaigns_out_of_budget',
    help: 'Servable campaigns whose remaining budget cannot pay for one more billable event',
    registers,
    collect() {
      this.set(gauges.campaignsOutOfBudget?.() ?? 0);
    },
  });

  // Label children bound once per label set: an observation is then one map lookup, not a label hash.
  const bound = <T>(make: (key: string) => T) => {
    const children = new Map<string, T>();
    return (key: string): T => {
      let child = children.get(key);
      if (child === undefined) children.set(key, (child = make(key)));
      return child;
    };
  };
  const requestChild = bound((key) => {
    const [route, method, status] = key.split('\n');
    return requests.labels({ route, method, status });
  });
  const servedChild = bound((bidType) => served.labels({ bid_type: bidType }));
  const priceChild = bound((bidType) => prices.labels({ bid_type: bidType }));
  const unfilledChild = bound((reason) => unfilled.labels({ reason }));
  const eventChild = bound((key) => {
    const [type, outcome] = key.split('\n');
    return events.labels({ type, outcome });
  });
  const commitSecondsChild = bound((kind) => commitSeconds.labels({ kind }));
  const commitGroupChild = bound((kind) => commitGroup.labels({ kind }));
  const cacheHit = cacheLookups.labels({ result: 'hit' });
  const cacheMiss = cacheLookups.labels({ result: 'miss' });

  return {
    registry,
    async scrape() {
      return { text: await registry.metrics(), contentType: registry.contentType };
    },
    request(route, method, status, seconds) {
      requestChild(`${route}\n${method}\n${status}`).observe(seconds);
    },
    slotRequest() {
      slotRequests.inc();
    },
    slotServed(bidType, priceMicros) {
      servedChild(bidType).inc();
      priceChild(bidType).observe(priceMicros);
    },
    unfilled(reason, count) {
      unfilledChild(reason).inc(count);
    },
    event(type, outcome) {
      eventChild(`${type}\n${outcome}`).inc();
    },
    commit(kind, seconds, groupSize) {
      commitSecondsChild(kind).observe(seconds);
      commitGroupChild(kind).observe(groupSize);
    },
    holds(change, count) {
      holds.inc({ change }, count);
    },
    userCache(hit) {
      if (hit) hits++;
      else misses++;
      (hit ? cacheHit : cacheMiss).inc();
    },
  };
}
