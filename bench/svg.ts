/** Tiny dependency-free SVG charts for the report: a line chart (optionally log-x) and a grouped bar chart. */

const W = 640;
const H = 360;
const M = { left: 70, right: 150, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmt = (v: number) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : `${Math.round(v * 100) / 100}`);

function frame(title: string, xLabel: string, yLabel: string, body: string[], yMax: number): string {
  const plotH = H - M.top - M.bottom;
  const ticks: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = M.top + plotH - (plotH * i) / 4;
    ticks.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    ticks.push(`<text x="${M.left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${fmt(v)}</text>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...ticks,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`,
    `<text x="16" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${H / 2})">${esc(yLabel)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

export interface Series {
  name: string;
  points: [number, number][];
  dashed?: boolean;
}

export function lineChart(o: { title: string; xLabel: string; yLabel: string; series: Series[]; logX?: boolean }): string {
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const tx = (x: number) => (o.logX ? Math.log10(x) : x);
  const [x0, x1] = [Math.min(...xs.map(tx)), Math.max(...xs.map(tx))];
  const yMax = niceMax(Math.max(...o.series.flatMap((s) => s.points.map((p) => p[1]))));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const px = (x: number) => M.left + (x1 === x0 ? plotW / 2 : ((tx(x) - x0) / (x1 - x0)) * plotW);
  const py = (y: number) => M.top + plotH - (y / yMax) * plotH;
  const body: string[] = [];
  for (const x of [...new Set(xs)]) {
    body.push(`<text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${fmt(x)}</text>`);
  }
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.map(([x, y]) => `${px(x)},${py(y)}`).join(' ')}"/>`,
    );
    for (const [x, y] of pts) body.push(`<circle cx="${px(x)}" cy="${py(y)}" r="3" fill="${color}"/>`);
    const ly = M.top + 14 + i * 18;
    body.push(
      `<line x1="${W - M.right + 10}" x2="${W - M.right + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    body.push(`<text x="${W - M.right + 34}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  return frame(o.title, o.xLabel, o.yLabel, body, yMax);
}

export function barChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  groups: string[];
  series: { name: string; values: number[] }[];
}): string {
  const yMax = niceMax(Math.max(...o.series.flatMap((s) => s.values)));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const groupW = plotW / o.groups.length;
  const barW = (groupW * 0.7) / o.series.length;
  const body: string[] = [];
  o.groups.forEach((g, gi) => {
    body.push(
      `<text x="${M.left + groupW * (gi + 0.5)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${esc(g)}</text>`,
    );
    o.series.forEach((s, si) => {
      const v = s.values[gi] ?? 0;
      const h = (v / yMax) * plotH;
      const x = M.left + groupW * gi + groupW * 0.15 + barW * si;
      body.push(
        `<rect x="${x}" y="${M.top + plotH - h}" width="${barW - 2}" height="${h}" fill="${COLORS[si % COLORS.length]}"/>`,
      );
    });
  });
  o.series.forEach((s, i) => {
    const ly = M.top + 14 + i * 18;
    body.push(`<rect x="${W - M.right + 10}" y="${ly - 10}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    body.push(`<text x="${W - M.right + 28}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  return frame(o.title, o.xLabel, o.yLabel, body, yMax);
}
