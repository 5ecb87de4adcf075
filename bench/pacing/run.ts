/**
 * Runs the pacing simulation for one day and writes bench/results/pacing.md
 * (hourly table) and bench/results/pacing.svg (spend over the day).
 * Usage: npx tsx bench/pacing/run.ts [seed]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type SimulationResult, simulateDay } from './simulation.js';

const units = (micros: number) => (micros / 1_000_000).toFixed(2);
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/** Cumulative spend of `even` and `asap` against the even target, with the traffic curve behind. */
export function plot(result: SimulationResult): string {
  const width = 760;
  const height = 400;
  const left = 60;
  const right = 20;
  const top = 30;
  const bottom = 50;
  const w = width - left - right;
  const h = height - top - bottom;
  const daily = Math.max(result.options.evenDailyMicros, result.options.asapDailyMicros);
  const x = (minute: number) => left + (minute / 1440) * w;
  const y = (micros: number) => top + h - (micros / daily) * h;
  const maxTraffic = Math.max(...result.samples.map((s) => s.traffic));
  const ty = (traffic: number) => top + h - (traffic / maxTraffic) * h * 0.35;
  const line = (points: [number, number][]) => points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
  const start: [number, number] = [x(0), y(0)];
  const even = line([start, ...result.samples.map((s): [number, number] => [x(s.minute), y(s.evenMicros)])]);
  const asap = line([start, ...result.samples.map((s): [number, number] => [x(s.minute), y(s.asapMicros)])]);
  const target = line([start, [x(1440), y(result.options.evenDailyMicros)]]);
  const traffic = line([
    [x(0), ty(0)],
    ...result.samples.map((s): [number, number] => [x(s.minute), ty(s.traffic)]),
    [x(1440), ty(0)],
  ]);
  const grid: string[] = [];
  for (let hour = 0; hour <= 24; hour += 3) {
    grid.push(`<line x1="${x(hour * 60)}" y1="${top}" x2="${x(hour * 60)}" y2="${top + h}" stroke="#eee"/>`);
    grid.push(
      `<text x="${x(hour * 60)}" y="${top + h + 18}" font-size="11" text-anchor="middle">${String(hour).padStart(2, '0')}:00</text>`,
    );
  }
  for (let f = 0; f <= 1; f += 0.25) {
    grid.push(`<line x1="${left}" y1="${y(daily * f)}" x2="${left + w}" y2="${y(daily * f)}" stroke="#eee"/>`);
    grid.push(`<text x="${left - 6}" y="${y(daily * f) + 4}" font-size="11" text-anchor="end">${units(daily * f)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${left}" y="18" font-size="14">Cumulative spend over one UTC day (units), seed ${result.options.seed}</text>
${grid.join('\n')}
<polygon points="${traffic}" fill="#dde8f5" stroke="none"/>
<polyline points="${target}" fill="none" stroke="#888" stroke-dasharray="6 4" stroke-width="1.5"/>
<polyline points="${asap}" fill="none" stroke="#d9534f" stroke-width="2"/>
<polyline points="${even}" fill="none" stroke="#2a7ab0" stroke-width="2.5"/>
<text x="${width / 2}" y="${height - 10}" font-size="12" text-anchor="middle">time of day (UTC)</text>
<g font-size="12">
  <line x1="${left + 10}" y1="${top + 10}" x2="${left + 34}" y2="${top + 10}" stroke="#2a7ab0" stroke-width="2.5"/><text x="${left + 40}" y="${top + 14}">even</text>
  <line x1="${left + 10}" y1="${top + 28}" x2="${left + 34}" y2="${top + 28}" stroke="#d9534f" stroke-width="2"/><text x="${left + 40}" y="${top + 32}">asap</text>
  <line x1="${left + 10}" y1="${top + 46}" x2="${left + 34}" y2="${top + 46}" stroke="#888" stroke-dasharray="6 4"/><text x="${left + 40}" y="${top + 50}">even target (daily × elapsed)</text>
  <rect x="${left + 10}" y="${top + 58}" width="24" height="10" fill="#dde8f5"/><text x="${left + 40}" y="${top + 68}">feed traffic (relative)</text>
</g>
</svg>
`;
}

export function report(result: SimulationResult, thin?: { paced: SimulationResult; unpaced: SimulationResult }): string {
  const o = result.options;
  const rows = result.hours.map(
    (p) =>
      `| ${String(p.hour).padStart(2, '0')}:00 | ${p.requests} | ${units(p.targetMicros)} | ${units(p.evenMicros)} | ${pct(p.evenMicros / p.targetMicros - 1)} | ${units(p.asapMicros)} |`,
  );
  const worst = Math.max(...result.hours.map((p) => Math.abs(p.evenMicros / p.targetMicros - 1)));
  const exhausted = result.asapExhaustedAtMinute;
  return `# Pacing simulation

One simulated UTC day through the real engine (\`decide\`) and the real budget
accounts (\`SqliteBudgets\`, holds and expiry), seeded RNG ${o.seed}.
${o.requestsPerDay} feed requests with a messenger-like daily curve, each a new user with 10 statuses
(two slots); ${Math.round(o.viewRate * 100)}% of served slots are seen within ${o.maxViewDelayMs / 1000} s, the rest expire after ${o.tokenTtlMs / 1000} s.

Campaigns: \`even\` cpm 2.00, daily ${units(o.evenDailyMicros)}; \`asap\` cpm 3.00, daily ${units(o.asapDailyMicros)};
two unbudgeted background campaigns (cpm 1.50, 1.20) from other advertisers set the second price.

- even: spent ${units(result.evenSpentMicros)} of ${units(o.evenDailyMicros)} (${pct(result.evenSpentMicros / o.evenDailyMicros - 1)}), worst hourly deviation from target ${pct(worst)}
- asap: spent ${units(result.asapSpentMicros)} of ${units(o.asapDailyMicros)}, exhausted at ${exhausted === null ? 'never' : `${String(Math.floor(exhausted / 60)).padStart(2, '0')}:${String(exhausted % 60).padStart(2, '0')} UTC`}
- impressions: even ${result.impressions.even}, asap ${result.impressions.asap}, background ${result.impressions.background}
- mean price per impression (micros): even ${result.meanPriceMicros.even} (bid 2000), asap ${result.meanPriceMicros.asap} (bid 3000)
- ${result.decisions} decisions in ${result.wallMs} ms wall time

${
  thin
    ? `Thin demand (${thin.paced.options.requestsPerDay} requests, same budgets): \`even\` spent ${units(thin.paced.evenSpentMicros)}, ` +
      `the same campaign unpaced (asap) ${units(thin.unpaced.evenSpentMicros)}: pacing does not starve a campaign that cannot reach its target.\n`
    : ''
}
![spend over the day](pacing.svg)

| hour end | requests | even target | even spend | vs target | asap spend |
|---|---|---|---|---|---|
${rows.join('\n')}
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seed = Number(process.argv[2] ?? 42);
  const base = { seed, evenDailyMicros: 20_000_000, asapDailyMicros: 20_000_000 };
  const result = await simulateDay({ ...base, requestsPerDay: 160_000 });
  const thin = {
    paced: await simulateDay({ ...base, requestsPerDay: 6_000 }),
    unpaced: await simulateDay({ ...base, requestsPerDay: 6_000, evenPacing: 'asap' }),
  };
  const out = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}pacing.svg`, plot(result));
  writeFileSync(`${out}pacing.md`, report(result, thin));
  writeFileSync(`${out}pacing.json`, JSON.stringify({ ...result, samples: undefined }, null, 2));
  console.log(report(result, thin).split('\n').slice(0, 18).join('\n'));
  console.log(`wrote ${out}pacing.md, pacing.svg, pacing.json`);
}
