import type { TrafficDay } from '../../src/engine/forecast.js';

/** A generated traffic cell: its market, requests, slots offered per request and the share of them served. */
export interface CellSpec {
  country: string;
  language: string;
  platform: string;
  requests: number;
  slotsPerRequest: number;
  fill: number;
}

/** The forecasts' basis day of generated cells, with `viewedShare` of what was served viewed. */
export function trafficDay(day: string, cells: CellSpec[], viewedShare: number): TrafficDay {
  const traffic: TrafficDay = {
    day,
    cells: cells.map((c) => ({
      country: c.country,
      language: c.language,
      platform: c.platform,
      requests: c.requests,
      opportunities: c.requests * c.slotsPerRequest,
      served: Math.floor(c.requests * c.slotsPerRequest * c.fill),
    })),
    impressions: 0,
    served: 0,
    scale: 1,
  };
  traffic.served = traffic.cells.reduce((s, c) => s + c.served, 0);
  traffic.impressions = Math.floor(traffic.served * viewedShare);
  return traffic;
}
