/**
 * Runs the budget-shard simulation for one day and writes bench/results/shards.md
 * (table), shards.svg (plot) and shards.json.
 * Usage: npx tsx bench/shards/run.ts [--seed N] [--users N] [--background N]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ShardSimResult, simulateShards } from './simulation.js';

const units = (micros: number) => (micros / 1_000_000).toLocaleString('en-US', { maximumFractionDigits: 0 });
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;

/** Cumulative spend against the even target (±5 % band), and the shard count, over the day. */
export function plot(r: ShardSimResult): string {
  const width = 760;
  const height = 480;
  const left = 70;
  const right = 60;
  const top = 30;
  const mid = 300;
  const bottom = 430;
  const w = width - left - right;
  const x = (minute: number) => left + (minute / 1440) * w;
  const y = (micros: number) => mid - (micros / r.dailyBudgetMicros) * (mid - top);
  const maxK = Math.max(...r.samples.map((s) => s.shards), 1);
  const ky = (k: number) => bottom - (k / maxK) * (bottom - mid - 30);
  const line = (points: [number, number][]) => points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
  const spend = line([[x(0), y(0)], ...r.samples.map((s): [number, number] => [x(s.minute), y(s.spentMicros)])]);
  const target = line([
    [x(0), y(0)],
    [x(1440), y(r.dailyBudgetMicros)],
  ]);
  const upper = line(r.samples.map((s): [number, number] => [x(s.minute), y(s.targetMicros * 1.05)]));
  const lower = line(r.samples.map((s): [number, number] => [x(s.minute), y(s.targetMicros * 0.95)]));
  const shards = line(
    r.samples.flatMap((s, i): [number, number][] => [
      [x(i === 0 ? 0 : r.samples[i - 1].minute), ky(s.shards)],
      [x(s.minute), ky(s.shards)],
    ]),
  );
  const shift = `<rect x="${x(r.options.shiftFrom * 60)}" y="${top}" width="${x(r.options.shiftTo * 60) - x(r.options.shiftFrom * 60)}" height="${bottom - top}" fill="#fbeed5"/>`;
  const grid: string[] = [];
  for (let hour = 0; hour <= 24; hour += 3) {
    grid.push(`<line x1="${x(hour * 60)}" y1="${top}" x2="${x(hour * 60)}" y2="${bottom}" stroke="#eee"/>`);
    grid.push(
      `<text x="${x(hour * 60)}" y="${bottom + 18}" font-size="11" text-anchor="middle">${String(hour).padStart(2, '0')}:00</text>`,
    );
  }
  for (let f = 0; f <= 1; f += 0.25) {
    grid.push(
      `<line x1="${left}" y1="${y(r.dailyBudgetMicros * f)}" x2="${left + w}" y2="${y(r.dailyBudgetMicros * f)}" stroke="#eee"/>`,
    );
    grid.push(
      `<text x="${left - 6}" y="${y(r.dailyBudgetMicros * f) + 4}" font-size="11" text-anchor="end">${(f * 100).toFixed(0)}%</text>`,
    );
  }
  for (const k of [0, Math.round(maxK / 2), maxK])
    grid.push(`<text x="${left - 6}" y="${ky(k) + 4}" font-size="11" text-anchor="end">${k}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${left}" y="18" font-size="14">One campaign at ${r.options.impressionsPerSec.toLocaleString('en-US')} impressions/s over budget shards: spend (of daily budget) and shard count, seed ${r.options.seed}</text>
${shift}
${grid.join('\n')}
<polyline points="${upper}" fill="none" stroke="#bbb" stroke-dasharray="2 3"/>
<polyline points="${lower}" fill="none" stroke="#bbb" stroke-dasharray="2 3"/>
<polyline points="${target}" fill="none" stroke="#888" stroke-dasharray="6 4" stroke-width="1.5"/>
<polyline points="${spend}" fill="none" stroke="#2a7ab0" stroke-width="2.5"/>
<line x1="${left}" y1="${mid + 15}" x2="${left + w}" y2="${mid + 15}" stroke="#ccc"/>
<polyline points="${shards}" fill="none" stroke="#5cb85c" stroke-width="2"/>
<text x="${left + w + 6}" y="${ky(maxK / 2)}" font-size="11">shards</text>
<text x="${width / 2}" y="${height - 10}" font-size="12" text-anchor="middle">time of day (UTC); shaded: all traffic on half the shards</text>
<g font-size="12">
  <line x1="${left + 10}" y1="${top + 10}" x2="${left + 34}" y2="${top + 10}" stroke="#2a7ab0" stroke-width="2.5"/><text x="${left + 40}" y="${top + 14}">spend, all shards</text>
  <line x1="${left + 10}" y1="${top + 28}" x2="${left + 34}" y2="${top + 28}" stroke="#888" stroke-dasharray="6 4"/><text x="${left + 40}" y="${top + 32}">even target, with ±5 % band</text>
  <line x1="${left + 10}" y1="${top + 46}" x2="${left + 34}" y2="${top + 46}" stroke="#5cb85c" stroke-width="2"/><text x="${left + 40}" y="${top + 50}">shard count K (lower panel)</text>
</g>
</svg>
`;
}

export function table(r: ShardSimResult): string {
  const o = r.options;
  const rows = r.hours.map(
    (h) =>
      `| ${String(h.hour).padStart(2, '0')}:00 | ${h.demandPerSec.toLocaleString('en-US')} | ${h.servedPerSec.toLocaleString('en-US')} | ${units(h.targetMicros)} | ${units(h.spentMicros)} | ${pct(h.deviation)} | ${h.shardsMin === h.shardsMax ? h.shardsMax : `${h.shardsMin}–${h.shardsMax}`} | ${h.renewals.toLocaleString('en-US')} | ${h.leaseRefused.toLocaleString('en-US')} |`,
  );
  return `# Budget shards: one simulated day

\`npx tsx bench/shards/run.ts\` — the real lease code (\`src/engine/budget-leases.ts\`) and the real
pacing rule (\`pacingPassRate\`), in 1-second steps, seed ${o.seed}. One campaign, cpm ${(o.priceMicros / 1000).toFixed(2)} paced
\`even\`, with a daily budget of ${units(r.dailyBudgetMicros)} units = ${o.impressionsPerSec.toLocaleString('en-US')} impressions/s on average, eligible for
${o.demandPerSec.toLocaleString('en-US')} feed requests/s × the messenger traffic curve (0.15–1.5); ${o.users.toLocaleString('en-US')} users (log-normal activity)
routed to shards by 32 bits of their pseudonym (\`shardFor\`); ${Math.round(o.viewRate * 100)} % of holds are charged within 60 s, the rest lapse
after ${o.tokenTtlS} s. Renewals reach the coordinator at once and their answers arrive one step (1 s) later; shard 0 lives
in the coordinator's object. From ${o.shiftFrom}:00 to ${o.shiftTo}:00 all traffic lands on the lower half of the shards.
Alongside, ${r.background.campaigns} background campaigns (3 impressions/s median, log-normal, up to 100/s) run the same code in 10-second steps.

- **Never over budget**: spend ${units(r.spentMicros)} of ${units(r.dailyBudgetMicros)} (holds still live at midnight counted as spent); the most
  spend + live holds ever reached: ${((r.peakCommittedMicros / r.dailyBudgetMicros) * 100).toFixed(4)} % of the budget; overspend ${units(r.overspendMicros)}.
- **Pacing**: worst hourly deviation from the even target ${pct(r.worstHourlyDeviation)} (limit ±5 %).
- **Shard count**: K from ${r.shardCount.min} to ${r.shardCount.max}, changed ${r.shardCount.changes} times (it grows with the rate at once; it would halve after 10 minutes at half the rate).
- **Rebalancing after the shift**: the idle shards' unspent lease (${units(r.rebalance.idleUnspentAtShiftMicros)} units at ${o.shiftFrom}:00) was back under 1 % after
  ${r.rebalance.idleReturnedAfterS ?? '—'} s; holds refused for want of lease fell under 1 % after ${r.rebalance.refusalsSettledAfterS ?? '—'} s.
- **Coordinator load**: ${r.renewals.toLocaleString('en-US')} renewals over the day (${(r.renewals / 86_400).toFixed(1)}/s, about one per busy shard per second).
- **Small campaigns pay nothing extra**: of ${r.background.campaigns} background campaigns, the most shards any had was ${r.background.maxShards} (${r.background.shardedSteps} steps with more than one); ${r.background.overspent} overspent.
- ${(r.wallMs / 1000).toFixed(1)} s wall time.

Lease-refused holds are slots the campaign could not fill because no lease covered them: in the first hour
while K grows from 1 and new shards start empty, for a few seconds when traffic returns to shards that gave
their leases back, and in the last hour when the budget itself runs out.

![spend and shard count over the day](shards.svg)

| hour end | eligible req/s | served/s | target | spend | vs target | K | renewals | lease-refused holds |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
}

async function main() {
  const { values } = parseArgs({
    options: { seed: { type: 'string' }, users: { type: 'string' }, background: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    console.log('Usage: npx tsx bench/shards/run.ts [--seed N] [--users N] [--background N]');
    return;
  }
  const result = simulateShards({
    ...(values.seed ? { seed: Number(values.seed) } : {}),
    ...(values.users ? { users: Number(values.users) } : {}),
    ...(values.background ? { backgroundCampaigns: Number(values.background) } : {}),
  });
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}shards.md`, table(result));
  writeFileSync(`${dir}shards.svg`, plot(result));
  writeFileSync(`${dir}shards.json`, `${JSON.stringify({ ...result, samples: undefined }, null, 1)}\n`);
  console.log(table(result));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
