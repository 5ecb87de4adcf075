/**
 * What stalls the server's event loop: a preload for the Node server (`src/runtime/node.ts`),
 * for diagnosis, not the bench's figures (its 2 ms timer costs a little CPU). Records event-loop
 * gaps over 3 ms (one iteration each), GC pauses, each POST /v1/slots from its `request` event to
 * `finish`, WAL checkpoints run on the serving connection, the `-wal` size every 500 ms, and the
 * traffic flush, retention prune and ledger `writePending`; writes them as JSON to
 * `$STALLS_DIR/stalls-<pid>.json` when the process exits (SIGTERM included). Times are µs on the
 * monotonic clock (`process.hrtime`), the same as a `--cpu-prof` profile's and wrk's runner's.
 *
 *   STALLS_DIR=/tmp/st NODE_OPTIONS="--import $PWD/bench/stalls.mjs" npm run bench -- --only=http
 *
 * Other node processes the bench starts ignore it (it acts only in node.ts's process).
 */
import { statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

if (process.argv[1]?.endsWith('src/runtime/node.ts') && process.env.STALLS_DIR) {
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const origin = nowUs() - performance.now() * 1000;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const gcs = [];
  const gaps = [];
  const ops = [];
  const wal = [];
  const requests = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcs.push([Math.round(origin + e.startTime * 1000), Math.round(e.duration * 1000), e.detail?.kind]);
  }).observe({ entryTypes: ['gc'] });
  let last = nowUs();
  setInterval(() => {
    const t = nowUs();
    if (t - last > 3000) gaps.push([last, t - last]);
    last = t;
  }, 2).unref();
  setInterval(() => {
    try {
      wal.push([nowUs(), statSync(`${process.env.DATABASE}-wal`).size]);
    } catch {
      // no WAL yet
    }
  }, 500).unref();
  const require = createRequire(`${process.cwd()}/package.json`);
  const Database = require('better-sqlite3');
  const pragma = Database.prototype.pragma;
  Database.prototype.pragma = function (source, options) {
    if (!/checkpoint\(/.test(source)) return pragma.call(this, source, options);
    const t = nowUs();
    try {
      return pragma.call(this, source, options);
    } finally {
      ops.push([t, nowUs() - t, source]);
    }
  };
  const http = require('node:http');
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (name, req, res) {
    if (name === 'request' && req.url === '/v1/slots' && requests.length < 1_000_000) {
      const t = nowUs();
      res.once('finish', () => requests.push([t, nowUs() - t]));
    }
    // biome-ignore lint/complexity/noArguments: every argument, whatever the event
    return emit.apply(this, arguments);
  };
  const wrap = (proto, name, label) => {
    const f = proto[name];
    proto[name] = function (...args) {
      const t = nowUs();
      const result = f.apply(this, args);
      // The synchronous part: what the event loop waited for.
      ops.push([t, nowUs() - t, label]);
      return result;
    };
  };
  // Once tsx (imported after this file) loads TypeScript: the server's own modules, the same instances it uses.
  setTimeout(async () => {
    try {
      const at = (file) => pathToFileURL(`${process.cwd()}/${file}`).href;
      wrap((await import(at('src/forecast/recorder.ts'))).TrafficRecorder.prototype, 'flush', 'traffic flush');
      wrap((await import(at('src/store/sqlite/users.ts'))).SqliteUsers.prototype, 'prune', 'retention prune');
      wrap((await import(at('src/store/sqlite/ledger.ts'))).SqliteLedger.prototype, 'writePending', 'ledger writePending');
    } catch (err) {
      console.error(`[stalls] could not wrap the store: ${err}`);
    }
  }, 3000).unref();
  process.on('exit', () => {
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    const loop = { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) };
    const file = `${process.env.STALLS_DIR}/stalls-${process.pid}.json`;
    writeFileSync(file, JSON.stringify({ pid: process.pid, loopDelayMs: loop, gcs, gaps, ops, wal, requests }));
  });
}
