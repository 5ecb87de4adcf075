/**
 * The store contract against the Workers backend with every campaign budget split over
 * three shard objects (BUDGET_MIN_SHARDS=3): leases, recalls, cuts, charges at the
 * shard that holds them, merged reports. No case is skipped.
 */
import { makeWorkerStore } from '../helpers/worker-store.js';
import { storeContract } from './contract.js';

storeContract('workers, budgets over 3 shards (D1 + Durable Objects in workerd)', () =>
  makeWorkerStore({ BUDGET_MIN_SHARDS: '3' }),
);
