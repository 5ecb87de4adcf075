/**
 * The in-memory index of what can be served, rebuilt when the catalog version
 * changes, so the slot path never scans SQL for campaigns. Candidates come out
 * in descending eCPM upper bound, bucketed by country, so a decision touches the
 * campaigns that can match its request rather than all of them.
 */
import { ecpmUpperBound } from '../engine/eligibility.js';
import type { RequestContext, ServableCampaign } from '../engine/types.js';
import type { CatalogStore } from '../store/interface.js';

interface Ranked {
  campaign: ServableCampaign;
  bound: number;
}

const byBound = (a: Ranked, b: Ranked) => b.bound - a.bound || (a.campaign.id < b.campaign.id ? -1 : 1);

function* campaignsOf(list: Ranked[]): Generator<ServableCampaign> {
  for (const r of list) yield r.campaign;
}

/** Merges two lists already sorted by bound into one descending stream. */
function* merge(a: Ranked[], b: Ranked[]): Generator<ServableCampaign> {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && byBound(a[i], b[j]) <= 0)) yield a[i++].campaign;
    else yield b[j++].campaign;
  }
}

export class CatalogIndex {
  private all: Ranked[] = [];
  private anyCountry: Ranked[] = [];
  private byCountry = new Map<string, Ranked[]>();
  private byId = new Map<string, ServableCampaign>();
  private longestCap = 0;
  private loadedVersion = -1;
  /** How many times the index was built: what a cache over its campaigns (forecasts' competition) is keyed on. */
  builds = 0;
  private refreshing: Promise<void> | undefined;
  private refreshStartedAt = 0;
  private refreshes = 0;
  /** The refresh queued behind the running one. */
  private again: Promise<void> | undefined;
  private againForced = false;

  constructor(
    private catalog: CatalogStore,
    private mediaUrl: (sha256: string) => string,
    /**
     * A refresh still unsettled after this long is given up on: the next caller starts its own. On Workers, a
     * request's I/O never settles once workerd cancels the request, and without this every later refresh would
     * wait on it for good.
     */
    private staleAfterMs = 30_000,
  ) {}

  /**
   * Rebuilds from the store if its version moved (or always, with `force`). Asked while one runs, it runs once
   * more after that one (callers asking meanwhile share it): the running one may have read the version before
   * the caller's change was committed, where the store's reads are really asynchronous (D1).
   */
  async refresh(force = false): Promise<void> {
    if (this.refreshing && Date.now() - this.refreshStartedAt > this.staleAfterMs) {
      this.refreshing = undefined;
      this.again = undefined;
      force ||= this.againForced;
      this.againForced = false;
    }
    if (this.refreshing) {
      this.againForced ||= force;
      this.again ??= this.refreshing
        .catch(() => undefined)
        .then(() => {
          const forced = this.againForced;
          this.again = undefined;
          this.againForced = false;
          return this.refresh(forced);
        });
      return this.again;
    }
    this.refreshStartedAt = Date.now();
    const generation = ++this.refreshes;
    // Still the refresh in flight: one given up on (stale) must not put back an older catalog than a later one built.
    const current = () => this.refreshes === generation;
    this.refreshing = (async () => {
      try {
        const version = await this.catalog.version();
        if (!force && version === this.loadedVersion) return;
        const campaigns = await this.catalog.servable(this.mediaUrl);
        if (!current()) return;
        this.build(campaigns);
        this.loadedVersion = version;
      } finally {
        if (current()) this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  build(campaigns: ServableCampaign[]): void {
    const ranked = campaigns.map((campaign) => ({ campaign, bound: ecpmUpperBound(campaign) })).sort(byBound);
    this.all = ranked;
    this.builds++;
    this.anyCountry = [];
    this.byCountry = new Map();
    this.byId = new Map(campaigns.map((c) => [c.id, c]));
    // Never shrinks while running: a paused campaign's caps still need their history when it resumes.
    for (const c of campaigns) for (const cap of c.caps) this.longestCap = Math.max(this.longestCap, cap.windowSeconds * 1000);
    for (const r of ranked) {
      // Paused campaigns stay in `all` (explain, cap windows) but are never candidates.
      if (r.campaign.status !== 'active') continue;
      const countries = r.campaign.targeting.countries;
      if (!countries) {
        this.anyCountry.push(r);
        continue;
      }
      for (const country of countries) {
        let bucket = this.byCountry.get(country);
        if (!bucket) this.byCountry.set(country, (bucket = []));
        bucket.push(r);
      }
    }
  }

  /** Candidates for a request, best first; with `everything`, all campaigns (for explain). */
  candidates(context: RequestContext, everything: boolean): Iterable<ServableCampaign> {
    if (everything) return campaignsOf(this.all);
    const bucket = context.country ? this.byCountry.get(context.country) : undefined;
    return bucket ? merge(bucket, this.anyCountry) : campaignsOf(this.anyCountry);
  }

  campaign(id: string): ServableCampaign | undefined {
    return this.byId.get(id);
  }

  /** The longest frequency-cap window of any campaign served since start, in ms. */
  longestCapMs(): number {
    return this.longestCap;
  }

  /** True once the catalog has been read at least once. */
  get loaded(): boolean {
    return this.loadedVersion !== -1;
  }

  get size(): number {
    return this.all.length;
  }
}
