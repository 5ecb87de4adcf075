/** The report chart: one small bar chart per measure (impressions, reach, clicks, spend), one bar per day, as SVG. */
import type { ReportRowView } from '../api.js';
import { formatMicros } from '../forms.js';
import { type Html, html } from './html.js';

interface Series {
  label: string;
  color: string;
  value: (row: ReportRowView) => number;
  format: (n: number) => string;
}

const SERIES: Series[] = [
  { label: 'Impressions', color: '#1f5fbf', value: (r) => r.impressions, format: (n) => n.toLocaleString('en-US') },
  { label: 'Reach', color: '#7a3fb8', value: (r) => r.reach, format: (n) => n.toLocaleString('en-US') },
  { label: 'Clicks', color: '#1a7335', value: (r) => r.clicks, format: (n) => n.toLocaleString('en-US') },
  { label: 'Spend', color: '#a8430b', value: (r) => r.spendMicros, format: formatMicros },
];

const WIDTH = 640;
const PANEL = 150;
const LEFT = 64;
const RIGHT = 12;
const TOP = 28;
const BOTTOM = 24;

/** A report row's counters with nothing counted: a day of the range without activity. */
export const ZERO_ROW: Omit<ReportRowView, 'date'> = {
  impressions: 0,
  reach: 0,
  clicks: 0,
  hides: 0,
  reports: 0,
  blocks: 0,
  spendMicros: 0,
  videoStarts: 0,
  videoFirstQuartiles: 0,
  videoMidpoints: 0,
  videoThirdQuartiles: 0,
  videoCompletes: 0,
};

/** `days` is every day of the range; days without a row are zero. */
export function reportChart({ days, rows }: { days: string[]; rows: ReportRowView[] }): Html {
  const byDay = new Map(rows.map((r) => [r.date, r]));
  const zero: ReportRowView = { date: '', ...ZERO_ROW };
  const plotWidth = WIDTH - LEFT - RIGHT;
  const step = plotWidth / Math.max(1, days.length);
  const barWidth = Math.max(1, step * 0.7);
  const height = SERIES.length * PANEL;
  const range = days.length ? `${days[0]} to ${days[days.length - 1]}` : 'no days';
  const totals = SERIES.map((s) => `${s.label}: ${s.format(rows.reduce((sum, r) => sum + s.value(r), 0))} in total`);
  return html`<svg class="chart" viewBox="${`0 0 ${WIDTH} ${height}`}" role="img" aria-labelledby="chart-title" aria-describedby="chart-desc" xmlns="http://www.w3.org/2000/svg">${[
    html`<title id="chart-title">Daily impressions, reach, clicks and spend</title>`,
    html`<desc id="chart-desc">${`${range}. ${totals.join('. ')}.`}</desc>`,
    SERIES.map((series, i) => {
      const y0 = i * PANEL;
      const values = days.map((d) => series.value(byDay.get(d) ?? zero));
      const max = Math.max(0, ...values);
      const total = values.reduce((a, b) => a + b, 0);
      const plotHeight = PANEL - TOP - BOTTOM;
      const baseline = y0 + TOP + plotHeight;
      return html`<g class="panel">${[
        html`<text x="8" y="${y0 + 18}" class="chart-label">${`${series.label}: ${series.format(total)} in total`}</text>`,
        html`<text x="${LEFT - 6}" y="${y0 + TOP + 10}" text-anchor="end" class="chart-tick">${series.format(max)}</text>`,
        html`<text x="${LEFT - 6}" y="${baseline}" text-anchor="end" class="chart-tick">0</text>`,
        html`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${baseline}" y2="${baseline}" stroke="#6b7280" stroke-width="1"></line>`,
        values.map((v, d) => {
          const h = max > 0 ? (v / max) * plotHeight : 0;
          return html`<rect x="${LEFT + d * step + (step - barWidth) / 2}" y="${baseline - h}" width="${barWidth}" height="${Math.max(h, v > 0 ? 1 : 0)}" fill="${series.color}"><title>${`${days[d]}: ${series.format(v)} ${series.label.toLowerCase()}`}</title></rect>`;
        }),
        days.length > 0 && html`<text x="${LEFT}" y="${baseline + 16}" class="chart-tick">${days[0]}</text>`,
        days.length > 1 &&
          html`<text x="${WIDTH - RIGHT}" y="${baseline + 16}" text-anchor="end" class="chart-tick">${days[days.length - 1]}</text>`,
      ]}</g>`;
    }),
  ]}</svg>`;
}
