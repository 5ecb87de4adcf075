/**
 * Soak (OWASP API4): 20 s of bounded load against the real server with a small
 * user cache. Resident memory plateaus; file descriptors and timers return to
 * where they were once the clients disconnect. `tsx bench/soak.ts 600` runs longer.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { soak } from '../../bench/soak.js';
import { type RealServer, removeDir, startServer, stopServer } from '../helpers/server.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 20);

describe('soak', () => {
  let server: RealServer | undefined;
  afterAll(async () => {
    await stopServer(server);
    removeDir(server?.dir);
  });

  it(
    `${SECONDS} s of load: memory plateaus, no descriptor or timer leak`,
    async () => {
      server = await startServer({
        env: {
          USER_CACHE_SIZE: '200',
          NODE_OPTIONS: `--require ${fileURLToPath(new URL('../helpers/preload-resources.cjs', import.meta.url))}`,
        },
      });
      const result = await soak(server, { durationMs: SECONDS * 1000, workers: 4 });
      expect(result.errors).toBe(0);
      // Enough requests to load the server; speed itself is bench/'s business (the machine is shared).
      expect(result.requests).toBeGreaterThan(SECONDS * 10);

      // Plateau: the peak of the last third is not meaningfully above the peak of the middle third.
      const mb = (kb: number) => kb / 1024;
      const third = (i: number) =>
        result.samples.filter((s) => s.atMs >= (i * SECONDS * 1000) / 3 && s.atMs < ((i + 1) * SECONDS * 1000) / 3);
      const peak = (xs: { rssKb: number }[]) => Math.max(...xs.map((s) => mb(s.rssKb)));
      const middle = peak(third(1));
      const last = peak(third(2));
      const report = `rss peaks: first ${peak(third(0)).toFixed(1)} MB, middle ${middle.toFixed(1)} MB, last ${last.toFixed(1)} MB; ${result.requests} requests`;
      expect(last, report).toBeLessThan(middle * 1.1 + 16);
      expect(last, report).toBeLessThan(400);

      // Descriptors: connections closed, the count is back (SQLite's db, -wal and -shm stay open throughout).
      expect(result.fdsAfter, `fds before ${result.fdsBefore}, after ${result.fdsAfter}`).toBeLessThanOrEqual(
        result.fdsBefore + 1,
      );
      // Timers and sockets: no more active handles of any kind than before the load.
      for (const [kind, n] of Object.entries(result.resourcesAfter)) {
        expect(n, `${kind}: before ${result.resourcesBefore[kind] ?? 0}, after ${n}`).toBeLessThanOrEqual(
          (result.resourcesBefore[kind] ?? 0) + (kind === 'FSReqCallback' ? 2 : 0),
        );
      }
    },
    SECONDS * 1000 + 30_000,
  );
});
