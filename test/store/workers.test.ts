/**
 * The store contract against the Workers backend: D1 catalog, user and campaign
 * Durable Objects, inside workerd. The skipped cases are the backend's known gaps.
 */
import { makeWorkerStore, WORKER_STORE_GAPS } from '../helpers/worker-store.js';
import { storeContract } from './contract.js';

const byId = WORKER_STORE_GAPS['ledger.reservation(id)'];

storeContract('workers (D1 + Durable Objects in workerd)', () => makeWorkerStore(), {
  'remembers reservations as live history until they expire': byId,
  'reserves a whole response at once, and nothing for an empty one': byId,
  'erase removes every row carrying the uid, and only that uid': byId,
  'converts the reservation on impression: it keeps counting after its token expires': byId,
  'charges a cpm reservation once, on its impression, at its price': byId,
  'drops history no cap or token needs, and keeps what they do': WORKER_STORE_GAPS['Store.prune(now)'],
});
