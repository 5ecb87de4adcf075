/**
 * Test-only Worker entry: the real Worker's objects plus a fetch handler that
 * calls the isolate's Store (D1 + Durable Objects) by name, so store tests in
 * Node drive the Workers backend inside workerd. Sets travel as {$set: [...]}.
 */
import { storeFor, type WorkerEnv } from '../../src/runtime/worker.js';
import { campaignObjectName } from '../../src/store/durable-object/placement.js';

export { CampaignObject, TrafficObject, UserObject } from '../../src/runtime/worker.js';

const encode = (value: unknown): unknown =>
  value instanceof Set
    ? { $set: [...value] }
    : Array.isArray(value)
      ? value.map(encode)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]))
        : value;

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const { part, method, args } = (await request.json()) as { part: string; method: string; args: unknown[] };
    type Methods = Record<string, (...a: any[]) => unknown>;
    const store = (await storeFor(env)) as unknown as Record<string, Methods>;
    const parts: Record<string, Methods> = {
      ...store,
      store: store as unknown as Methods,
      // A campaign's exact snapshot (every budget shard asked), for the Node side's synchronous budgets.view.
      campaign: {
        snapshot: (campaignId: string, now: number) =>
          (env.CAMPAIGNS.get(env.CAMPAIGNS.idFromName(campaignId)) as any).view(campaignId, now, true),
        own: (campaignId: string, shard: number, now: number) =>
          (env.CAMPAIGNS.get(env.CAMPAIGNS.idFromName(campaignObjectName(campaignId, shard))) as any).own(campaignId, shard, now),
        // One shard's side of the event procedure, as a user object's outbox calls it.
        apply: (campaignId: string, shard: number, effects: unknown[], reportThreshold: number) =>
          (env.CAMPAIGNS.get(env.CAMPAIGNS.idFromName(campaignObjectName(campaignId, shard))) as any).apply(
            campaignId,
            shard,
            effects,
            reportThreshold,
          ),
        rows: (campaignId: string, shard: number, from: string, to: string, by: string) =>
          (env.CAMPAIGNS.get(env.CAMPAIGNS.idFromName(campaignObjectName(campaignId, shard))) as any).rows(
            campaignId,
            shard,
            from,
            to,
            by,
          ),
      },
    };
    const target = parts[part];
    // Functions do not cross the bridge; `servable` gets the default relative media URLs.
    if (method === 'servable') args[0] = (sha256: string) => `/media/${sha256}`;
    try {
      const result = await target[method](...args);
      return Response.json({ result: encode(result) ?? null });
    } catch (err) {
      return Response.json({ error: (err as Error).message }, { status: 500 });
    }
  },
};
