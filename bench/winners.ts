/**
 * The auction's winner choice alone (`chooseWinners` over one array of eligible candidates), trees side by side in
 * one process, against the sort the engine used until session 10 (`cbb25e1`: sort every eligible candidate by rank,
 * then per place the first of an advertiser not yet served and the first after it of another). Shapes: eligible
 * candidates / advertisers / ads wanted; eCPMs from 2,000 values (ties), advertisers uniform, the array in the
 * catalog's order (eCPM descending, as the index yields them) or shuffled. Each tree's result is checked against
 * the sort's. Median time per call over repeats, trees interleaved; a tree whose call takes over 2 s is timed once
 * for that shape. In `reversed` (eCPM ascending) and `headUp` (the best first, then the rest ascending) every
 * candidate would enter the leading advertisers near their head, the costliest order for the one pass:
 * `chooseWinners` counts its insertions and reads the list from its end (the catalog's order for `reversed`, nearly
 * so for `headUp`), or sorts it, once they pass its budget.
 *
 *   npx tsx bench/winners.ts --tree=/work/main --tree=. [--repeats=15]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Eligible } from '../src/engine/decide.js';
import type { ServableCampaign, ServableCreative } from '../src/engine/types.js';
import { median } from './stats.js';
import { rng } from './workload.js';

const { values: o } = parseArgs({
  strict: true,
  options: {
    tree: { type: 'string', multiple: true, default: ['.'] },
    repeats: { type: 'string', default: '15' },
  },
});

type Choose = (eligible: Eligible[], wanted: number, floor: number) => { winner: Eligible; price: number }[];

function byEcpm(a: Eligible, b: Eligible): number {
  return (
    b.ecpm - a.ecpm || b.fullEcpm - a.fullEcpm || (a.campaign.id < b.campaign.id ? -1 : a.campaign.id > b.campaign.id ? 1 : 0)
  );
}

function price(winner: Eligible, runnerUp: Eligible | undefined, floor: number): number {
  const priceEcpm = Math.min(winner.ecpm, Math.max(floor, runnerUp?.ecpm ?? 0));
  if (winner.campaign.bid.type === 'cpm') return Math.floor(priceEcpm / 1000);
  return Math.min(winner.bidMicros, Math.floor(priceEcpm / (winner.creative.predictedCtr * 1000)));
}

/** cbb25e1's loop (on a copy: the engine sorted its own list). */
const sortAll: Choose = (list, wanted, floor) => {
  const eligible = [...list].sort(byEcpm);
  const winners: { winner: Eligible; price: number }[] = [];
  const used = new Set<string>();
  for (let slot = 0; slot < wanted; slot++) {
    const index = eligible.findIndex((e) => !used.has(e.campaign.advertiserId));
    if (index < 0) break;
    const winner = eligible[index];
    const runnerUp = eligible.find(
      (e, i) => i > index && e.campaign.advertiserId !== winner.campaign.advertiserId && !used.has(e.campaign.advertiserId),
    );
    winners.push({ winner, price: price(winner, runnerUp, floor) });
    used.add(winner.campaign.advertiserId);
  }
  return winners;
};

type Order = 'catalog' | 'shuffled' | 'reversed' | 'headUp';

function makeEligible(n: number, advertisers: number, order: Order, seed: number): Eligible[] {
  const random = rng(seed);
  const list: Eligible[] = [];
  for (let i = 0; i < n; i++) {
    const ecpm = (1 + Math.floor(random() * 2000)) * 1000;
    const fullEcpm = ecpm + (random() < 0.2 ? 500 : 0);
    const campaign = {
      id: `c${String(i).padStart(6, '0')}`,
      advertiserId: `a${Math.floor(random() * advertisers)}`,
      bid: { type: 'cpm', amountMicros: fullEcpm },
    } as ServableCampaign;
    const creative = { id: `k${i}`, predictedCtr: 0.02 } as ServableCreative;
    list.push({ campaign, creative, ecpm, remaining: Infinity, bidMicros: ecpm, fullEcpm });
  }
  if (order === 'catalog') list.sort((a, b) => b.fullEcpm - a.fullEcpm);
  else if (order === 'reversed') list.sort((a, b) => a.fullEcpm - b.fullEcpm);
  else if (order === 'headUp') {
    list.sort((a, b) => a.fullEcpm - b.fullEcpm);
    list.unshift(list.pop() as Eligible);
  } else
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [list[i], list[j]] = [list[j], list[i]];
    }
  return list;
}

const shapes: [number, number, number][] = [
  [6, 5, 3],
  [40, 20, 3],
  [400, 100, 3],
  [10_000, 1_000, 3],
  [100_000, 5_000, 8],
  [2_000, 200, 100],
  [100_000, 5_000, 30],
  [100_000, 5_000, 100],
];

const trees: [string, Choose][] = [['sort (cbb25e1)', sortAll]];
for (const tree of o.tree) {
  const mod = await import(resolve(tree, 'src/engine/decide.ts'));
  trees.push([tree, mod.chooseWinners as Choose]);
}
const repeats = Number(o.repeats);
const floor = 100_000;
const key = (w: { winner: Eligible; price: number }[]) => w.map((x) => `${x.winner.campaign.id}:${x.price}`).join(',');

const rows: string[] = [];
for (const order of ['catalog', 'shuffled', 'reversed', 'headUp'] as const) {
  for (const [n, advertisers, wanted] of shapes) {
    const eligible = makeEligible(n, advertisers, order, n + advertisers + wanted);
    // Small shapes: many calls per sample, so a sample is well above the timer's resolution.
    const calls = Math.max(1, Math.floor(2_000_000 / (n * Math.max(1, Math.log2(n)))));
    const expected = key(sortAll(eligible, wanted, floor));
    const times = trees.map(() => [] as number[]);
    for (let r = 0; r < repeats; r++) {
      trees.forEach(([name, choose], t) => {
        if (times[t].length > 0 && times[t][0] > 2000) return;
        if (r === 0) choose(eligible, wanted, floor); // warm-up
        const started = process.hrtime.bigint();
        let got: { winner: Eligible; price: number }[] = [];
        for (let c = 0; c < calls; c++) got = choose(eligible, wanted, floor);
        times[t].push(Number(process.hrtime.bigint() - started) / 1e6 / calls);
        if (key(got) !== expected) throw new Error(`${name}: other winners than the sort for ${n}/${advertisers}/${wanted}`);
      });
    }
    rows.push(
      `| ${order} | ${n.toLocaleString('en')} / ${advertisers.toLocaleString('en')} / ${wanted} | ${times.map((t) => fmt(median(t))).join(' | ')} |`,
    );
  }
}

function fmt(ms: number): string {
  return ms >= 10 ? `${ms.toFixed(0)} ms` : ms >= 0.1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`;
}

console.log(`| order | eligible / advertisers / wanted | ${trees.map(([name]) => name).join(' | ')} |`);
console.log(`|---|---|${trees.map(() => '---').join('|')}|`);
for (const row of rows) console.log(row);
