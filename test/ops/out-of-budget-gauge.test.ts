import { afterEach, describe, expect, it } from 'vitest';
import { outOfBudgetGauge } from '../../src/wiring.js';
import { makeService, type TestService } from '../helpers/service.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('the campaigns-out-of-budget gauge', () => {
  let svc: TestService;
  afterEach(() => svc?.close());

  async function catalog(spent: number, funded: number) {
    svc = await makeService();
    for (let i = 0; i < spent; i++) await svc.seedCampaign({ campaign: { budget: { totalMicros: 0 } }, seed: i });
    for (let i = 0; i < funded; i++) await svc.seedCampaign({ campaign: { budget: { totalMicros: 5_000_000 } }, seed: 100 + i });
    await svc.index.refresh();
  }

  it('counts a catalog that fits one slice at once', async () => {
    await catalog(3, 2);
    expect(outOfBudgetGauge(svc.store, () => svc.clock.now, 5)(svc.index)).toBe(3);
  });

  it('walks a larger catalog a slice per turn and reads the last whole walk meanwhile', async () => {
    await catalog(3, 4);
    const gauge = outOfBudgetGauge(svc.store, () => svc.clock.now, 2);
    // 7 campaigns, 2 per slice: the first scrape starts the walk and has no whole walk yet.
    expect(gauge(svc.index)).toBe(0);
    await turn();
    await turn();
    expect(gauge(svc.index)).toBe(0);
    await turn();
    expect(gauge(svc.index)).toBe(3);
    // That scrape started the next walk; its count is read once it is whole.
    await svc.seedCampaign({ campaign: { budget: { totalMicros: 0 } }, seed: 200 });
    await svc.index.refresh();
    for (let i = 0; i < 4; i++) await turn();
    expect(gauge(svc.index)).toBe(3);
    for (let i = 0; i < 5; i++) await turn();
    expect(gauge(svc.index)).toBe(4);
  });
});
