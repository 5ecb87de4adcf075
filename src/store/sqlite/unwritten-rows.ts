/**
 * The report rows' committed changes the ledger has not written yet (ledger.ts), held per campaign and UTC
 * day: an event class finds its five rows by a field, an hour's slot and three lookups by the value itself
 * (creative, country, platform), never by a key string built per row. A queue keeps them in creation order,
 * which the crash bookkeeping needs: rows are written oldest first, always a prefix of the queue, and the
 * first change left says up to which event every stored row is exact.
 */
import type { Reach } from '../reach.js';
import { REPORT_COUNTERS, type ReportBy } from '../report-rows.js';

/** What groups added to one report row since it was last written: counters, and the users reached since. */
export interface RowDelta {
  campaignId: string;
  by: ReportBy;
  day: string;
  key: string;
  /** In REPORT_COUNTERS order: a plain array (a Float64Array's buffer lives outside the heap and costs more to make and to collect). */
  counters: number[];
  /** A sketch of only the impressions since the last write (merged into the stored one as it is written), if any. */
  reach?: Reach;
  /** The first events rowid (and the group's time) this delta holds: everything before it is in the stored row. */
  fromRowid: number;
  since: number;
  /** The campaign-day holding it, to take it out once written. */
  holder: DayRows;
}

/** One campaign's unwritten rows of one UTC day, by breakdown. */
export interface DayRows {
  campaignId: string;
  day: string;
  /** Rows held (the holder goes when none is left). */
  size: number;
  total: RowDelta | undefined;
  /** By UTC hour 0–23. */
  hours: (RowDelta | undefined)[];
  creative: Map<string, RowDelta>;
  country: Map<string, RowDelta>;
  platform: Map<string, RowDelta>;
}

/**
 * A row change without its sketch: the delta object, its 11 counters, its entry in its holder's map or hours
 * array and in the queue, and the id and key strings it keeps alive. Its campaign-day's holder is counted apart
 * (`DAY_ROWS_BYTES`), once per holder, so a campaign-day left holding one or two rows (rows are written oldest
 * first) is counted with its whole holder. Measured (`npx tsx bench/ledger-micro.ts --row-bytes`: heap and array
 * buffers after a full collection, against what `bytes` counted, in every shape): bench/README, session 13, `ev13`.
 */
export const ROW_DELTA_BYTES = 360;
/**
 * A campaign-day's holder (`DayRows`): the object, its three maps and its hours array grown to all 24 hours,
 * whatever rows it holds. ~1,300 bytes measured with one row left at hour 23 (the row's own bytes apart).
 */
export const DAY_ROWS_BYTES = 1_500;

export class UnwrittenRows {
  /** By campaign id: its days with unwritten rows (nearly always one; two around midnight). */
  private byCampaign = new Map<string, DayRows[]>();
  /** Every delta in creation order from `head` on. */
  private queue: (RowDelta | undefined)[] = [];
  private head = 0;
  /** What the deltas and their holders hold, as `deltaBytes` and `DAY_ROWS_BYTES` count it (the ledger adds its sketches' growth). */
  bytes = 0;

  get size(): number {
    return this.queue.length - this.head;
  }

  /** The i-th oldest delta (0: the oldest, which holds the oldest unwritten change). */
  at(i: number): RowDelta | undefined {
    return this.queue[this.head + i];
  }

  /** The campaign's rows of `day`, made if it has none. */
  dayRows(campaignId: string, day: string): DayRows {
    let days = this.byCampaign.get(campaignId);
    if (!days) this.byCampaign.set(campaignId, (days = []));
    for (const d of days) if (d.day === day) return d;
    const d: DayRows = {
      campaignId,
      day,
      size: 0,
      total: undefined,
      hours: [],
      creative: new Map(),
      country: new Map(),
      platform: new Map(),
    };
    days.push(d);
    return d;
  }

  /** The day's total row. */
  total(d: DayRows, fromRowid: number, since: number): RowDelta {
    return (d.total ??= this.made(d, 'day', '', fromRowid, since));
  }

  /** The row of UTC hour `hour` (0–23). */
  hour(d: DayRows, hour: number, fromRowid: number, since: number): RowDelta {
    return (d.hours[hour] ??= this.made(d, 'hour', hour < 10 ? `0${hour}` : `${hour}`, fromRowid, since));
  }

  /** The row of a creative, country or platform. */
  keyed(d: DayRows, by: 'creative' | 'country' | 'platform', key: string, fromRowid: number, since: number): RowDelta {
    const rows = d[by];
    let delta = rows.get(key);
    if (!delta) rows.set(key, (delta = this.made(d, by, key, fromRowid, since)));
    return delta;
  }

  /** Any row by its stored (breakdown, key) (recovery). */
  row(d: DayRows, by: ReportBy, key: string, fromRowid: number, since: number): RowDelta {
    if (by === 'day') return this.total(d, fromRowid, since);
    if (by === 'hour') return this.hour(d, Number(key), fromRowid, since);
    return this.keyed(d, by, key, fromRowid, since);
  }

  private made(holder: DayRows, by: ReportBy, key: string, fromRowid: number, since: number): RowDelta {
    const delta: RowDelta = {
      campaignId: holder.campaignId,
      by,
      day: holder.day,
      key,
      counters: REPORT_COUNTERS.map(zero),
      fromRowid,
      since,
      holder,
    };
    // The holder is counted with its first row (and freed with its last, `forget`).
    if (holder.size++ === 0) this.bytes += DAY_ROWS_BYTES;
    this.queue.push(delta);
    this.bytes += ROW_DELTA_BYTES;
    return delta;
  }

  /** Takes the `n` oldest deltas out (once their rows are written and committed). */
  forget(n: number): void {
    for (let i = this.head; i < this.head + n; i++) {
      const delta = this.queue[i] as RowDelta;
      this.queue[i] = undefined;
      this.bytes -= deltaBytes(delta);
      const d = delta.holder;
      if (delta.by === 'day') d.total = undefined;
      else if (delta.by === 'hour') d.hours[Number(delta.key)] = undefined;
      else d[delta.by].delete(delta.key);
      if (--d.size > 0) continue;
      this.bytes -= DAY_ROWS_BYTES;
      const days = this.byCampaign.get(d.campaignId) as DayRows[];
      if (days.length === 1) this.byCampaign.delete(d.campaignId);
      else days.splice(days.indexOf(d), 1);
    }
    this.head += n;
    // The written prefix is dropped now and then, not on every write (a copy of what is left).
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** The campaign's unwritten rows of one breakdown on days from `fromDay` to `toDay` (reports). */
  *of(campaignId: string, by: ReportBy, fromDay: string, toDay: string): Generator<RowDelta> {
    for (const d of this.byCampaign.get(campaignId) ?? []) {
      if (d.day < fromDay || d.day > toDay) continue;
      if (by === 'day') {
        if (d.total) yield d.total;
      } else if (by === 'hour') {
        for (const delta of d.hours) if (delta) yield delta;
      } else yield* d[by].values();
    }
  }
}

const zero = () => 0;

/** What a row's unwritten change holds in memory, about: the change and the sketch it will write. */
export function deltaBytes(delta: RowDelta): number {
  return ROW_DELTA_BYTES + (delta.reach ? delta.reach.bytes : 0);
}
