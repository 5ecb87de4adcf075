/**
 * Smoothed click-through estimate: a Beta(α, β) prior centred on the
 * deployment-wide CTR, updated with the creative's own clicks and impressions.
 */

/** Prior mean CTR (1%) and strength (equivalent to 200 impressions). */
export const CTR_PRIOR = { mean: 0.01, strength: 200 };

export function predictedCtr(clicks: number, impressions: number, prior = CTR_PRIOR): number {
  const alpha = prior.mean * prior.strength;
  const beta = (1 - prior.mean) * prior.strength;
  return (clicks + alpha) / (impressions + alpha + beta);
}
