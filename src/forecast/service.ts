/**
 * The forecast use case: reads the recorded traffic of the last complete days (or
 * today so far, scaled to a day, when there are none), unions reach sketches,
 * and lets the engine's model (src/engine/forecast.ts) price a campaign draft
 * against today's catalog.
 */
import type { CatalogIndex } from '../catalog/index.js';
import type { CapRule } from '../config.js';
import { deploymentPrior } from '../engine/ctr.js';
import { utcDayFraction } from '../engine/eligibility.js';
import { Competition, type ForecastResult, forecast, type TrafficCell, type TrafficDay } from '../engine/forecast.js';
import type { BidType, Pacing, Targeting } from '../engine/types.js';
import type { TrafficRow, TrafficStore } from '../store/interface.js';
import { Reach } from '../store/reach.js';
import type { TrafficRecorder } from './recorder.js';

const DAY_MS = 86_400_000;
/** Complete days of traffic a forecast looks back over. */
export const BASIS_DAYS = 7;
/** Today's traffic stands in for a day only once this much of the day has passed. */
const MIN_PARTIAL_FRACTION = 1 / 1440;

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface DraftInput {
  bid: { type: BidType; amountMicros: number };
  budget: { dailyMicros?: number; totalMicros?: number };
  pacing: Pacing;
  targeting: Targeting;
  caps: CapRule[];
  schedule?: { start: string; end?: string };
}

export interface ForecastDeps {
  traffic: TrafficStore;
  recorder: Pick<TrafficRecorder, 'flush'>;
  index: CatalogIndex;
  floorCpmMicros: number;
  clock: () => number;
}

export class Forecasts {
  private built: { builds: number; competition: Competition } | undefined;

  constructor(private deps: ForecastDeps) {}

  /** Today's competition over the index as last built: kept, with the rival bids it computed, until the next build. */
  private competition(): Competition {
    const { index, floorCpmMicros } = this.deps;
    if (this.built?.builds !== index.builds) {
      this.built = { builds: index.builds, competition: new Competition([...index.candidates({}, true)], floorCpmMicros) };
    }
    return this.built.competition;
  }

  async forecast(draft: DraftInput, advertiserId: string): Promise<ForecastResult> {
    const now = this.deps.clock();
    // What this process counted since its last flush belongs in the basis too.
    await this.deps.recorder.flush();
    const today = utcDay(now);
    const { cells, totals } = await this.deps.traffic.read(utcDay(now - BASIS_DAYS * DAY_MS), today);
    const complete = cells.filter((c) => c.day < today);
    const fraction = utcDayFraction(now);
    const useToday = complete.length === 0 && fraction >= MIN_PARTIAL_FRACTION;
    const rows = useToday ? cells.filter((c) => c.day === today) : complete;

    const byDay = new Map<string, TrafficRow[]>();
    for (const row of rows) byDay.set(row.day, [...(byDay.get(row.day) ?? []), row]);
    const days: TrafficDay[] = [...byDay.keys()].sort().map((day) => {
      const list = byDay.get(day) ?? [];
      return {
        day,
        cells: list.map(({ reachSketch: _, ...counts }) => counts),
        impressions: totals[day]?.impressions ?? 0,
        served: list.reduce((sum, c) => sum + c.served, 0),
        scale: useToday ? 1 / fraction : 1,
      };
    });
    const sketches = new Map(rows.map((r) => [`${r.day}|${r.country}|${r.language}|${r.platform}`, r.reachSketch]));
    const reachOf = (day: string, of: TrafficCell[]) => {
      const union = Reach.empty();
      for (const c of of) union.merge(Reach.parse(sketches.get(`${day}|${c.country}|${c.language}|${c.platform}`)));
      return union.estimate();
    };

    const competition = this.competition();
    // A new creative's predicted CTR is the deployment prior: from the basis days' impressions and clicks, as the catalog smooths it.
    let clicks = 0;
    let seen = 0;
    for (const day of Object.keys(totals)) {
      clicks += totals[day].clicks;
      seen += totals[day].impressions;
    }
    return forecast({
      now,
      draft: {
        advertiserId,
        bid: draft.bid,
        budget: draft.budget,
        pacing: draft.pacing,
        targeting: draft.targeting,
        caps: draft.caps,
        startAt: draft.schedule ? Date.parse(draft.schedule.start) : now,
        endAt: draft.schedule?.end ? Date.parse(draft.schedule.end) : null,
      },
      days,
      reachOf,
      competition,
      predictedCtr: deploymentPrior(clicks, seen).mean,
    });
  }
}

/**
 * At most one forecast in flight through `forecasts`; one asked meanwhile is refused at once with `busy()`. On
 * Node a forecast's CPU runs on the engine thread, which decides every slot and commits every event: one at a
 * time bounds that stall (the first forecast after each index build, a catalog change or the 5-minute CTR refresh,
 * computes the rival bids of each traffic cell it meets), and a queue behind it would only grow with requests
 * whose clients have given up.
 */
export function oneForecastAtATime(forecasts: Pick<Forecasts, 'forecast'>, busy: () => Error): Pick<Forecasts, 'forecast'> {
  let running = false;
  return {
    async forecast(draft, advertiserId) {
      if (running) throw busy();
      running = true;
      try {
        return await forecasts.forecast(draft, advertiserId);
      } finally {
        running = false;
      }
    },
  };
}
