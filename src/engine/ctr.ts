/**
 * Smoothed click-through estimates. A creative's CTR is the posterior mean of
 * Beta(α + clicks, β + impressions − clicks), with the prior centred on the
 * deployment-wide CTR: α = m·s, β = (1 − m)·s, where m is the deployment CTR and
 * s = `strength` pseudo-impressions. See docs/economics.md.
 */

export interface CtrPrior {
  /** Prior mean CTR (m). */
  mean: number;
  /** Prior weight in impressions (s = α + β). */
  strength: number;
}

/** Default prior before the deployment has data: 1% CTR, worth 200 impressions. */
export const CTR_PRIOR: CtrPrior = { mean: 0.01, strength: 200 };

/**
 * How many impressions of deployment-wide data it takes before the deployment's
 * own CTR outweighs the 1% default as the prior mean.
 */
export const DEPLOYMENT_PRIOR_IMPRESSIONS = 1000;

/** Beta-Binomial posterior mean: (clicks + α) / (impressions + α + β). */
export function predictedCtr(clicks: number, impressions: number, prior: CtrPrior = CTR_PRIOR): number {
  const alpha = prior.mean * prior.strength;
  const beta = (1 - prior.mean) * prior.strength;
  // Clicks can outnumber recorded impressions (a click converts an unviewed reservation); keep the estimate ≤ 1.
  const safeClicks = Math.min(clicks, impressions);
  return (safeClicks + alpha) / (impressions + alpha + beta);
}

/**
 * The prior for every creative, from the deployment's total clicks and
 * impressions (itself smoothed toward the 1% default while data is thin).
 */
export function deploymentPrior(totalClicks: number, totalImpressions: number): CtrPrior {
  const mean = predictedCtr(totalClicks, totalImpressions, { mean: CTR_PRIOR.mean, strength: DEPLOYMENT_PRIOR_IMPRESSIONS });
  return { mean, strength: CTR_PRIOR.strength };
}
