/**
 * Metrics on Node: the `Metrics` hooks as prom-client counters and histograms in
 * their own registry, served as Prometheus text by GET /metrics. Gauges that are
 * cheaper to read than to track (cache size, campaigns out of budget) are read
 * at scrape time.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { type Metrics, UNFILLED_SLOT_REASONS } from './metrics.js';

export interface PrometheusGauges {
  /** Users whose state is in the in-process cache. */
  userCacheSize?: () => number;
  /** Servable campaigns whose remaining budget cannot pay for one more billable event. */
  campaignsOutOfBudget?: () => number;
  /** Bytes of the SQLite write-ahead log file (`$DATABASE-wal`) now. Without it, no `ads_store_wal_bytes`. */
  walBytes?: () => number;
  /**
   * Node's engine thread, where it runs (its heap and event loop are not the ones prom-client's defaults
   * describe): as of its last snapshot. Without it, no `ads_engine_*` series.
   */
  engine?: () => Pick<EngineGauges, 'heapUsedBytes' | 'eventLoopDelayP99Seconds'> | undefined;
}

/** The gauges the engine thread reports (EngineThread.gauges). */
export interface EngineGauges {
  userCacheEntries(): number;
  campaignsOutOfBudget(): number;
  heapUsedBytes(): number;
  eventLoopDelayP99Seconds(): number;
}

export interface PrometheusMetrics extends Metrics {
  registry: Registry;
  /** The exposition text and its content type. */
  scrape(): Promise<{ text: string; contentType: string }>;
  /** Adds what the engine thread observed (`MetricsRecorder.take`) to these series. */
  apply(delta: MetricsDelta): void;
}

type Labels = Record<string, string | number>;

/**
 * A counter or histogram of our own for the hot paths: an observation is a few additions on a series
 * found by one Map lookup (prom-client's own validate and hash the labels on every call), and the
 * registry reads it through prom-client's metric shape (`get`, `getForPromString`), so the exposition
 * is the same text (a test holds both equal).
 */
class Series {
  count = 0;
  sum = 0;
  readonly buckets: number[];
  constructor(
    readonly labels: Labels,
    /** The label values in the metric's `labelNames` order. */
    readonly values: readonly string[],
    private bounds: readonly number[],
  ) {
    this.buckets = bounds.map(() => 0);
  }
  inc(by = 1): void {
    this.count += by;
  }
  /** Adds another series' counts (a delta from the engine thread). */
  add(count: number, sum: number, buckets: readonly number[]): void {
    this.count += count;
    this.sum += sum;
    for (let i = 0; i < buckets.length && i < this.buckets.length; i++) this.buckets[i] += buckets[i];
  }
  observe(value: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++)
      if (value <= bounds[i]) {
        this.buckets[i]++;
        break;
      }
    this.sum += value;
    this.count++;
  }
}

interface ExportedValue {
  labels: Labels;
  value: number;
  metricName?: string;
  sharedLabels?: Labels;
}

class PlainMetric {
  readonly aggregator = 'sum';
  readonly series = new Map<string, Series>();
  constructor(
    public name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private labelNames: readonly string[],
    private bounds: readonly number[] = [],
  ) {}

  /** The series of these label values (in `labelNames` order), made on first use. */
  child(...values: string[]): Series {
    const key = values.join('\n');
    let series = this.series.get(key);
    if (series === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]));
      this.series.set(key, (series = new Series(labels, values, this.bounds)));
    }
    return series;
  }

  getForPromString(): { name: string; help: string; type: string; values: ExportedValue[]; aggregator: string } {
    const values: ExportedValue[] = [];
    for (const s of this.series.values()) {
      if (this.type === 'counter') {
        values.push({ labels: s.labels, value: s.count });
        continue;
      }
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.buckets[i];
        values.push({ labels: { le }, value: cumulative, metricName: `${this.name}_bucket`, sharedLabels: s.labels });
      });
      values.push({ labels: { le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket`, sharedLabels: s.labels });
      values.push({ labels: {}, value: s.sum, metricName: `${this.name}_sum`, sharedLabels: s.labels });
      values.push({ labels: {}, value: s.count, metricName: `${this.name}_count`, sharedLabels: s.labels });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  async get() {
    const data = this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })),
    };
  }
}

/** A plain counter or histogram registered in `registry`. */
export function plainMetric(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly string[]; buckets?: readonly number[] },
): PlainMetric {
  const metric = new PlainMetric(
    config.name,
    config.help,
    config.buckets ? 'histogram' : 'counter',
    config.labelNames ?? [],
    config.buckets,
  );
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return metric;
}

/** A counter or histogram as `engineMetrics` asks for it (registered on main, unregistered on the engine thread). */
type MakeMetric = (config: {
  name: string;
  help: string;
  labelNames?: readonly string[];
  buckets?: readonly number[];
}) => PlainMetric;

/**
 * The series delivery and the store observe, and their hooks: one home for names, help, labels and buckets,
 * built registered on the main thread and unregistered where the engine runs on its own thread.
 */
function engineMetrics(make: MakeMetric) {
  const slotRequests = make({ name: 'ads_slot_requests_total', help: 'Slot requests decided' });
  const served = make({ name: 'ads_slots_served_total', help: 'Ads placed in slot responses', labelNames: ['bid_type'] });
  const unfilled = make({
    name: 'ads_slots_unfilled_total',
    help: 'Places a feed could hold that got no ad, by reason (see docs/deploy.md)',
    labelNames: ['reason'],
  });
  for (const reason of UNFILLED_SLOT_REASONS) unfilled.child(reason);
  const prices = make({
    name: 'ads_clearing_price_micros',
    help: 'Clearing price per billable event (impression for cpm, click for cpc), in micros',
    labelNames: ['bid_type'],
    buckets: [10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 100_000, 1_000_000],
  });
  const events = make({
    name: 'ads_events_total',
    help: 'Feed events by type and outcome (accepted, duplicate or the rejection reason)',
    labelNames: ['type', 'outcome'],
  });
  const holds = make({
    name: 'ads_budget_holds_total',
    help: 'Budget holds taken at serve time, released (charged or given back) and expired unused',
    labelNames: ['change'],
  });
  for (const change of ['taken', 'released', 'expired']) holds.child(change);
  const commitSeconds = make({
    name: 'ads_store_commit_seconds',
    help: 'Duration of one group commit (transaction and fsync), by queue',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  });
  const commitGroup = make({
    name: 'ads_store_commit_group_size',
    help: 'Callers sharing one group commit, by queue',
    labelNames: ['kind'],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  });
  const cacheLookups = make({
    name: 'ads_user_cache_lookups_total',
    help: 'User-state lookups, answered from the in-process cache (hit) or the database (miss)',
    labelNames: ['result'],
  });
  const walHolds = make({
    name: 'ads_store_wal_hold_seconds',
    help: "Time the group commits were held for the WAL's checkpointer, by reason (restart, truncate)",
    labelNames: ['reason'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  for (const reason of ['restart', 'truncate']) walHolds.child(reason);
  const checkpointErrors = make({
    name: 'ads_store_wal_checkpoint_errors_total',
    help: "Failed checkpoints and WAL restart commits of the checkpointer's worker, its end, and then failed truncations on the serving connection",
  });
  const slotRequest = slotRequests.child();
  const checkpointError = checkpointErrors.child();
  const cacheHit = cacheLookups.child('hit');
  const cacheMiss = cacheLookups.child('miss');
  const all = [
    slotRequests,
    served,
    unfilled,
    prices,
    events,
    holds,
    commitSeconds,
    commitGroup,
    cacheLookups,
    walHolds,
    checkpointErrors,
  ];
  const hooks: Omit<Metrics, 'request'> = {
    slotRequest() {
      slotRequest.inc();
    },
    slotServed(bidType, priceMicros) {
      served.child(bidType).inc();
      prices.child(bidType).observe(priceMicros);
    },
    unfilled(reason, count) {
      unfilled.child(reason).inc(count);
    },
    event(type, outcome, count) {
      events.child(type, outcome).inc(count);
    },
    commit(kind, seconds, groupSize) {
      commitSeconds.child(kind).observe(seconds);
      commitGroup.child(kind).observe(groupSize);
    },
    holds(change, count) {
      holds.child(change).inc(count);
    },
    userCache(hit) {
      (hit ? cacheHit : cacheMiss).inc();
    },
    walHold(reason, seconds) {
      walHolds.child(reason).observe(seconds);
    },
    checkpointError() {
      checkpointError.inc();
    },
  };
  return { hooks, byName: new Map(all.map((m) => [m.name, m])), cacheHit, cacheMiss };
}

/**
 * What the engine thread observed since its last delta, flat: per changed series its metric name, label
 * values, count, sum and bucket counts (structured-clone friendly, a few entries per message).
 */
export type MetricsDelta = [name: string, values: readonly string[], count: number, sum: number, buckets: number[]][];

/** The engine side's hooks where it runs on its own thread: counts kept here and taken as deltas for main's registry. */
export interface MetricsRecorder extends Metrics {
  /** Everything observed since the last call (undefined if nothing), counts reset. */
  take(): MetricsDelta | undefined;
}

export function createMetricsRecorder(): MetricsRecorder {
  const { hooks, byName } = engineMetrics(
    (config) =>
      new PlainMetric(
        config.name,
        config.help,
        config.buckets ? 'histogram' : 'counter',
        config.labelNames ?? [],
        config.buckets,
      ),
  );
  return {
    ...hooks,
    request() {},
    take() {
      const delta: MetricsDelta = [];
      for (const metric of byName.values()) {
        for (const s of metric.series.values()) {
          if (s.count === 0) continue;
          delta.push([metric.name, s.values, s.count, s.sum, s.buckets.slice()]);
          s.count = 0;
          s.sum = 0;
          s.buckets.fill(0);
        }
      }
      return delta.length > 0 ? delta : undefined;
    },
  };
}

export function createPrometheusMetrics(gauges: PrometheusGauges = {}): PrometheusMetrics {
  const registry = new Registry();
  // Process, heap, GC and event-loop lag (nodejs_eventloop_lag_seconds and its percentiles).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const registers = [registry];

  const requests = plainMetric(registry, {
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  });
  const { hooks, byName, cacheHit, cacheMiss } = engineMetrics((config) => plainMetric(registry, config));
  new Gauge({
    name: 'ads_user_cache_hit_ratio',
    help: 'Share of user-state lookups answered from the cache since start',
    registers,
    collect() {
      const lookups = cacheHit.count + cacheMiss.count;
      this.set(lookups === 0 ? 0 : cacheHit.count / lookups);
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

  if (gauges.walBytes) {
    const walBytes = gauges.walBytes;
    new Gauge({
      name: 'ads_store_wal_bytes',
      help: "Size of SQLite's write-ahead log file ($DATABASE-wal), read at scrape time",
      registers,
      collect() {
        this.set(walBytes());
      },
    });
  }

  if (gauges.engine) {
    const engine = gauges.engine;
    new Gauge({
      name: 'ads_engine_heap_used_bytes',
      help: "The engine thread's V8 heap in use (Node, ENGINE_THREAD on)",
      registers,
      collect() {
        this.set(engine()?.heapUsedBytes() ?? 0);
      },
    });
    new Gauge({
      name: 'ads_engine_eventloop_delay_p99_seconds',
      help: "The engine thread's event-loop delay, 99th percentile over its last one-second window (Node, ENGINE_THREAD on)",
      registers,
      collect() {
        this.set(engine()?.eventLoopDelayP99Seconds() ?? 0);
      },
    });
  }

  return {
    ...hooks,
    registry,
    async scrape() {
      return { text: await registry.metrics(), contentType: registry.contentType };
    },
    request(route, method, status, seconds) {
      requests.child(route, method, String(status)).observe(seconds);
    },
    apply(delta) {
      for (const [name, values, count, sum, buckets] of delta)
        byName
          .get(name)
          ?.child(...values)
          .add(count, sum, buckets);
    },
  };
}
