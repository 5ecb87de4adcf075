import { CatalogIndex } from '../src/catalog/index.js';
import { decide } from '../src/engine/decide.js';
import { decide as oldDecide } from './_old_decide.js';
import { generateCatalog, sessions, Zipf, rng } from './workload.js';
import { toServable, fixedCatalog, engineSettings, BENCH_START } from './engine.js';
const settings = await engineSettings();
let diffs = 0, n = 0, slots = 0;
for (const [C, U] of [[300, 200], [5000, 3000], [30000, 100000]]) {
  const cat = generateCatalog(7 + C, C);
  const sv = cat.campaigns.map(c => toServable(c, 'x', BENCH_START - 1e8));
  const index = new CatalogIndex(fixedCatalog(sv), s => s); await index.refresh(true);
  const r = rng(C);
  const budgets = new Map();
  const budgetOf = (id: string) => { let b = budgets.get(id); if (!b) budgets.set(id, b = { spentTodayMicros: r() < 0.1 ? 1e12 : 0, spentTotalMicros: 0, heldMicros: 0 }); return b; };
  const states = new Map();
  let now = BENCH_START;
  for (const s of sessions(C, U, 40000, new Zipf(U))) {
    let u = states.get(s.userIndex); if (!u) states.set(s.userIndex, u = { history: [], blocks: new Set(), hides: new Set() });
    const req = { statuses: s.statuses, runs: s.runs, context: s.context, explain: false };
    const a = decide({ now, settings, campaigns: index.candidates(s.context, false), user: u, budgetOf, request: req });
    const b = oldDecide({ now, settings, campaigns: index.candidates(s.context, false), user: u, budgetOf, request: req });
    const key = (d: any) => JSON.stringify(d.slots.map((x: any) => [x.after, x.campaign.id, x.creative.id, x.ecpmMicros, x.priceMicros]));
    n++; if (key(a) !== key(b)) { diffs++; if (diffs < 3) console.log(key(a), key(b)); }
    for (const sl of a.slots) { slots++; u.history.push({ reservationId: 'r', campaignId: sl.campaign.id, creativeId: sl.creative.id, advertiserId: sl.campaign.advertiserId, servedAt: now, expiresAt: now + 9e5, viewed: r() < 0.5 }); if (r() < 0.05) u.blocks.add(sl.campaign.advertiserId); if (r() < 0.05) u.hides.add(sl.creative.id); }
    now += 50;
  }
}
console.log({ n, diffs, slots });
