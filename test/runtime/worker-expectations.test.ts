/** Issue 15's expectations (business card, categories, mutes, video metrics, breakdowns, forecasts) in workerd. */

import { describeExpectations } from '../api/expectations.js';
import { makeWorkerService } from '../helpers/worker.js';

describeExpectations('workerd', async () => {
  const w = await makeWorkerService({ TRAFFIC_FLUSH_MS: '0' });
  return { ...w, now: Date.now, wait: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
});
