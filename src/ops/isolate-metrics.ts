/**
 * Metrics for runtimes without prom-client (Workers): the same counter and
 * histogram names as on Node, kept in this isolate's memory and rendered in the
 * Prometheus text format. They cover only the requests this isolate served since
 * it started, so in production the Analytics Engine data points are the source;
 * locally (`npm run start:worker`, one isolate) they read like Node's.
 */
import { type Metrics, UNFILLED_SLOT_REASONS } from './metrics.js';

type Labels = Record<string, string>;

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

class CounterFamily {
  private values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels, by = 1) {
    const key = labelText(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines.join('\n');
  }
}

class HistogramFamily {
  private values = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}
  observe(labels: Labels, value: number) {
    const key = labelText(labels);
    let entry = this.values.get(key);
    if (!entry) this.values.set(key, (entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) entry.counts[i]++;
    entry.sum += value;
    entry.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.values.values()) {
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText({ le: String(le), ...labels })} ${counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ le: '+Inf', ...labels })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${sum}`);
      lines.push(`${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines.join('\n');
  }
}

export interface IsolateMetrics extends Metrics {
  scrape(): Promise<{ text: string; contentType: string }>;
}

export function createIsolateMetrics(): IsolateMetrics {
  const requests = new HistogramFamily(
    'http_request_duration_seconds',
    'Time to answer an HTTP request, by route pattern, method and status (this isolate)',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  );
  const slotRequests = new CounterFamily('ads_slot_requests_total', 'Slot requests decided (this isolate)');
  const served = new CounterFamily('ads_slots_served_total', 'Ads placed in slot responses (this isolate)');
  const unfilled = new CounterFamily(
    'ads_slots_unfilled_total',
    'Places a feed could hold that got no ad, by reason (this isolate)',
  );
  for (const reason of UNFILLED_SLOT_REASONS) unfilled.inc({ reason }, 0);
  const prices = new HistogramFamily(
    'ads_clearing_price_micros',
    'Clearing price per billable event, in micros (this isolate)',
    [10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 100_000, 1_000_000],
  );
  const events = new CounterFamily('ads_events_total', 'Feed events by type and outcome (this isolate)');
  const holds = new CounterFamily('ads_budget_holds_total', 'Budget holds by change (this isolate)');
  const families = [requests, slotRequests, served, unfilled, prices, events, holds];
  return {
    async scrape() {
      return { text: `${families.map((f) => f.render()).join('\n')}\n`, contentType: 'text/plain; version=0.0.4; charset=utf-8' };
    },
    request: (route, method, status, seconds) => requests.observe({ route, method, status: String(status) }, seconds),
    slotRequest: () => slotRequests.inc({}),
    slotServed(bidType, priceMicros) {
      served.inc({ bid_type: bidType });
      prices.observe({ bid_type: bidType }, priceMicros);
    },
    unfilled: (reason, count) => unfilled.inc({ reason }, count),
    event: (type, outcome, count) => events.inc({ type, outcome }, count),
    holds: (change, count) => holds.inc({ change }, count),
    commit() {},
    userCache() {},
  };
}

/** Sends every hook to each of `sinks` (e.g. this isolate's counters and Analytics Engine). */
export function fanOutMetrics(...sinks: Metrics[]): Metrics {
  return {
    request: (...a) => sinks.forEach((s) => s.request(...a)),
    slotRequest: () => sinks.forEach((s) => s.slotRequest()),
    slotServed: (...a) => sinks.forEach((s) => s.slotServed(...a)),
    unfilled: (...a) => sinks.forEach((s) => s.unfilled(...a)),
    event: (...a) => sinks.forEach((s) => s.event(...a)),
    holds: (...a) => sinks.forEach((s) => s.holds(...a)),
    commit: (...a) => sinks.forEach((s) => s.commit(...a)),
    userCache: (...a) => sinks.forEach((s) => s.userCache(...a)),
  };
}
