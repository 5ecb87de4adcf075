/** Where ads may go in one feed response: positions after organic statuses. */
import type { PlacementSettings } from '../config.js';

/**
 * How many ads the feed could hold by placement alone (`placedPositions` without a limit, counted): asked on
 * every slot request.
 */
export function placementCapacity(request: { statuses?: number; runs?: number[] }, settings: PlacementSettings): number {
  return walkPositions(request, settings, Infinity, undefined);
}

/**
 * Where up to `limit` ads go: of every `after` an ad may take (1..statuses, or only run boundaries when runs are
 * given), greedily from the top of the feed, honouring `firstAfter`, `minGap` and `maxPerResponse`. Walked without a
 * list of every position (a feed of 200 statuses made an array of 200 per slot request).
 */
export function placedPositions(
  request: { statuses?: number; runs?: number[] },
  settings: PlacementSettings,
  limit: number,
): number[] {
  const chosen: number[] = [];
  walkPositions(request, settings, limit, chosen);
  return chosen;
}

/** The positions `placedPositions` picks, walked in order: counted, and pushed to `into` when given. */
function walkPositions(
  request: { statuses?: number; runs?: number[] },
  settings: PlacementSettings,
  limit: number,
  into: number[] | undefined,
): number {
  const { firstAfter, minGap } = settings;
  const max = Math.min(limit, settings.maxPerResponse);
  let count = 0;
  let previous = -Infinity;
  if (request.runs) {
    let after = 0;
    for (const run of request.runs) {
      if (count >= max) break;
      after += run;
      if (after < firstAfter || after - previous < minGap) continue;
      into?.push(after);
      count++;
      previous = after;
    }
    return count;
  }
  const statuses = request.statuses ?? 0;
  for (let after = 1; after <= statuses && count < max; after++) {
    if (after < firstAfter || after - previous < minGap) continue;
    into?.push(after);
    count++;
    previous = after;
  }
  return count;
}
