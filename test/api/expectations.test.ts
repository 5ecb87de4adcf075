/** Issue 15's expectations (business card, categories, mutes, video metrics, breakdowns, forecasts) on Node. */
import { makeService } from '../helpers/service.js';
import { describeExpectations } from './expectations.js';

describeExpectations('node', async () => {
  const s = await makeService();
  return {
    ...s,
    now: () => s.clock.now,
    wait: async (ms: number) => s.clock.advance(ms),
  };
});
