/**
 * Test-only Worker entry: the real Worker's objects, and a fetch handler that serves one slot request through
 * `Delivery` on the isolate's own store (user and campaign Durable Objects), with token seals that are promises
 * (WebCrypto, as on Workers) of which the `failAt`-th rejects: an abandoned response, inside workerd. It answers
 * what the response reserved, and what the objects then keep of it (each reservation; each campaign's holds, every
 * budget shard asked). With `conflicts`, another reservation of the user is stored just before each of the first
 * `conflicts` reserves, so the user object refuses them (a history changed since it was read) and the response is
 * decided again. test/runtime/worker-abandoned-response.test.ts drives it.
 */
import { CatalogIndex } from '../../src/catalog/index.js';
import { readSettings } from '../../src/config.js';
import { Delivery } from '../../src/delivery/delivery.js';
import { createIsolateMetrics } from '../../src/ops/isolate-metrics.js';
import { type TokenClaims, TokenSigner } from '../../src/privacy/token.js';
import { storeFor, type WorkerEnv } from '../../src/runtime/worker.js';
import type { Reservation, Store } from '../../src/store/interface.js';
import { servableCampaign } from './servable.js';

export { CampaignObject, TrafficObject, UserObject } from '../../src/runtime/worker.js';

/** A signer whose `failAt`-th seal (counting from 1) rejects; 0: none does. */
class RejectingSigner extends TokenSigner {
  calls = 0;
  constructor(private failAt: number) {
    super('secret');
  }
  override slotToken(claims: TokenClaims): string | Promise<string> {
    if (++this.calls === this.failAt) return Promise.reject(new Error('the seal was rejected'));
    return super.slotToken(claims);
  }
}

const CAMPAIGNS = [1, 2, 3];

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const { uid, failAt, conflicts = 0 } = (await request.json()) as { uid: string; failAt: number; conflicts?: number };
    const store = await storeFor(env);
    const now = Date.now();
    const campaigns = CAMPAIGNS.map((n) => servableCampaign(n, now, { dailyMicros: 50_000_000 }));
    const index = new CatalogIndex(undefined as never, (sha) => `/media/${sha}`);
    index.build(campaigns);
    // The isolate's store, noting the id of every reservation it is asked to store.
    const reserved: string[] = [];
    let reserves = 0;
    const users = Object.assign(Object.create(store.users), {
      reserve: async (reservations: Reservation[], basedOn?: Parameters<Store['users']['reserve']>[1]) => {
        if (reserves++ < conflicts) {
          const other = { ...reservations[0], id: `r-other-${reserves}` };
          if (!(await store.users.reserve([other]))) throw new Error('the other reservation was refused');
        }
        for (const r of reservations) reserved.push(r.id);
        return store.users.reserve(reservations, basedOn);
      },
    });
    const metrics = createIsolateMetrics();
    const signer = new RejectingSigner(failAt);
    const delivery = new Delivery({
      settings: readSettings({}),
      store: { ...store, users },
      index,
      pseudonymize: () => uid,
      signer,
      clock: () => now,
      metrics,
      // As the Worker wires it (src/wiring.ts): no per-user lock in the isolate, traffic flushed by the host.
      serialiseUsers: false,
      flushTraffic: false,
    });
    let error: string | null = null;
    let slots = 0;
    try {
      slots = (await delivery.slots({ user: 'u', statuses: 20 })).slots.length;
    } catch (err) {
      error = (err as Error).message;
    }
    const kept: (string | null)[] = [];
    for (const id of reserved) kept.push((await store.users.reservation(uid, id)) ? id : null);
    const heldMicros: Record<string, number> = {};
    for (const c of campaigns) {
      const campaign = env.CAMPAIGNS.get(env.CAMPAIGNS.idFromName(c.id)) as unknown as {
        view(campaignId: string, now: number, exact: boolean): Promise<{ heldMicros: number }>;
      };
      heldMicros[c.id] = (await campaign.view(c.id, now, true)).heldMicros;
    }
    const history = (await store.users.load(uid, now, delivery.historyMs())).history.length;
    return Response.json({
      error,
      slots,
      seals: signer.calls,
      reserved,
      kept,
      heldMicros,
      history,
      metrics: (await metrics.scrape()).text,
    });
  },
};
