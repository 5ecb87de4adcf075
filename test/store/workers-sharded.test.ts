/**
 * The store contract against the Workers backend with every campaign budget split over
 * three shard objects (BUDGET_MIN_SHARDS=3): leases, recalls, cuts, charges at the
 * shard that holds them, merged reports. Sharding changes only the campaign objects,
 * so this runs the cases that reach them: budgets, the ledger, pruning, and erasing a
 * user (which gives holds back at their shards). The catalog (D1) and the rest of the
 * user cases (user objects only) run unsharded in workers.test.ts; no case is skipped there.
 */
import { makeWorkerStore } from '../helpers/worker-store.js';
import { storeContract } from './contract.js';

storeContract(
  'workers, budgets over 3 shards (D1 + Durable Objects in workerd)',
  () => makeWorkerStore({ BUDGET_MIN_SHARDS: '3' }),
  {},
  (group, title) => group !== 'catalog' && (group !== 'users' || /erase|refused reservation/.test(title)),
);
