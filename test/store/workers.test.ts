/**
 * The store contract against the Workers backend: D1 catalog, user and campaign
 * Durable Objects, inside workerd. No case is skipped.
 */
import { makeWorkerStore } from '../helpers/worker-store.js';
import { storeContract } from './contract.js';

storeContract('workers (D1 + Durable Objects in workerd)', () => makeWorkerStore());
