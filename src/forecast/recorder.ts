/**
 * Counts traffic as the service serves it — per UTC day and request context:
 * requests, ad positions, slots served, a reach sketch of pseudonyms — in memory,
 * and merges it into the traffic store at most every `flushMs`. One recorder per
 * process or isolate; a crash loses at most the counts of one interval (these are
 * forecast statistics, never acknowledged data).
 */
import type { RequestContext } from '../engine/types.js';
import type { TrafficBatch, TrafficRow, TrafficStore } from '../store/interface.js';
import { Reach } from '../store/reach.js';
import { TRAFFIC_RETENTION_DAYS } from '../store/traffic.js';

const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export class TrafficRecorder {
  private cells = new Map<string, { row: Omit<TrafficRow, 'reachSketch'>; reach: Reach }>();
  private totals: TrafficBatch['totals'] = {};
  private flushedAt: number;
  private flushing: Promise<void> | undefined;
  private today = { start: Number.NaN, text: '' };

  constructor(
    private store: TrafficStore,
    private clock: () => number,
    /** How often counts reach the store, in ms [10 000]; 0 = after every call. */
    private flushMs = 10_000,
  ) {
    this.flushedAt = clock();
  }

  /** One slot request: its context, the user's pseudonym (for reach), the positions offered and slots served. */
  request(now: number, context: RequestContext, uid: string, opportunities: number, served: number): void {
    const day = this.dayOf(now);
    const country = context.country ?? '';
    const language = context.language ?? '';
    const platform = context.platform ?? '';
    const key = `${day}|${country}|${language}|${platform}`;
    let cell = this.cells.get(key);
    if (!cell)
      this.cells.set(
        key,
        (cell = { row: { day, country, language, platform, requests: 0, opportunities: 0, served: 0 }, reach: Reach.empty() }),
      );
    cell.row.requests++;
    cell.row.opportunities += opportunities;
    cell.row.served += served;
    cell.reach.add(uid);
  }

  /** The UTC day of `now`, formatted once per day rather than once per request. */
  private dayOf(now: number): string {
    if (!(now >= this.today.start && now < this.today.start + DAY_MS)) {
      this.today = { start: Math.floor(now / DAY_MS) * DAY_MS, text: utcDay(now) };
    }
    return this.today.text;
  }

  /** Accepted impressions and clicks: how many served slots are seen, and the deployment's CTR. */
  events(now: number, impressions: number, clicks: number): void {
    if (impressions <= 0 && clicks <= 0) return;
    const day = (this.totals[utcDay(now)] ??= { impressions: 0, clicks: 0 });
    day.impressions += impressions;
    day.clicks += clicks;
  }

  /**
   * Flushes if the interval passed: the flush to wait for, or undefined when none is due (no promise
   * per request). Never rejects (failures are logged and the counts kept for next time).
   */
  flushIfDue(): Promise<void> | undefined {
    if (this.clock() - this.flushedAt < this.flushMs) return undefined;
    return this.flush().catch((err) => {
      console.error(`[traffic] could not record traffic counts, keeping them: ${(err as Error).message}`);
    });
  }

  /** Merges everything counted so far into the store. */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.cells.size === 0 && Object.keys(this.totals).length === 0) return;
    const cells = this.cells;
    const totals = this.totals;
    this.cells = new Map();
    this.totals = {};
    this.flushedAt = this.clock();
    const batch: TrafficBatch = {
      cells: [...cells.values()].map(({ row, reach }) => ({ ...row, reachSketch: reach.serialize() })),
      totals,
      oldestDayKept: utcDay(this.clock() - TRAFFIC_RETENTION_DAYS * DAY_MS),
    };
    this.flushing = this.store.add(batch);
    try {
      await this.flushing;
    } catch (err) {
      // Put the counts back so the next flush carries them.
      for (const [key, cell] of cells) {
        const now = this.cells.get(key);
        if (!now) this.cells.set(key, cell);
        else {
          now.row.requests += cell.row.requests;
          now.row.opportunities += cell.row.opportunities;
          now.row.served += cell.row.served;
          now.reach.merge(cell.reach);
        }
      }
      for (const [day, n] of Object.entries(totals)) this.events(Date.parse(day), n.impressions, n.clicks);
      throw err;
    } finally {
      this.flushing = undefined;
    }
  }
}
