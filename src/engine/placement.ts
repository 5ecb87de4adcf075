/** Where ads may go in one feed response: positions after organic statuses. */
import type { PlacementSettings } from '../config.js';

/** Every `after` an ad may take: 1..statuses, or only run boundaries when runs are given. */
export function candidatePositions(request: { statuses?: number; runs?: number[] }): number[] {
  if (request.runs) {
    const positions: number[] = [];
    let total = 0;
    for (const run of request.runs) {
      total += run;
      positions.push(total);
    }
    return positions;
  }
  const positions: number[] = [];
  for (let after = 1; after <= (request.statuses ?? 0); after++) positions.push(after);
  return positions;
}

/**
 * Picks up to `limit` positions greedily from the top of the feed, honouring
 * `firstAfter`, `minGap` and `maxPerResponse`. Positions must be ascending.
 */
export function choosePositions(positions: number[], settings: PlacementSettings, limit: number): number[] {
  const max = Math.min(limit, settings.maxPerResponse);
  const chosen: number[] = [];
  let previous = -Infinity;
  for (const after of positions) {
    if (chosen.length >= max) break;
    if (after < settings.firstAfter) continue;
    if (after - previous < settings.minGap) continue;
    chosen.push(after);
    previous = after;
  }
  return chosen;
}

/**
 * How many ads the feed could hold by placement alone — `choosePositions(candidatePositions(request),
 * settings, Infinity).length` — without building either list (asked on every slot request).
 */
export function placementCapacity(request: { statuses?: number; runs?: number[] }, settings: PlacementSettings): number {
  const { firstAfter, minGap, maxPerResponse } = settings;
  let count = 0;
  let previous = -Infinity;
  if (request.runs) {
    let after = 0;
    for (const run of request.runs) {
      if (count >= maxPerResponse) break;
      after += run;
      if (after < firstAfter || after - previous < minGap) continue;
      count++;
      previous = after;
    }
    return count;
  }
  const statuses = request.statuses ?? 0;
  for (let after = 1; after <= statuses && count < maxPerResponse; after++) {
    if (after < firstAfter || after - previous < minGap) continue;
    count++;
    previous = after;
  }
  return count;
}
