/** The hardening suite (./hardening-suite.ts) against the Worker bundle in workerd (D1, Durable Objects, R2). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedWorld, type World } from '../helpers/isolation.js';
import { makeWorkerService, type WorkerService } from '../helpers/worker.js';
import { hardeningSuite } from './hardening-suite.js';

let w: World<WorkerService>;
beforeAll(async () => {
  w = await seedWorld(await makeWorkerService());
}, 60_000);
afterAll(() => w?.s.close());

hardeningSuite('Worker', () => w);

describe('Worker on the wire', () => {
  it('204 answers carry no Content-Type', async () => {
    const erase = await w.s.request('/v1/users/erase', {
      method: 'POST',
      headers: { Authorization: `Bearer ${w.client.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'u-204' }),
    });
    expect(erase.status).toBe(204);
    expect(erase.headers.get('content-type')).toBeNull();
  });
});
