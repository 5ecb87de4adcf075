/**
 * Test preload (NODE_OPTIONS=--import): on the engine thread only, an uncaught exception once
 * CRASH_ENGINE_AFTER_SLOTS slot calls have reached it — the engine thread dying mid-load, as a bug or an
 * out-of-memory there would, while the main thread still serves.
 */
import { isMainThread, parentPort } from 'node:worker_threads';

const after = Number(process.env.CRASH_ENGINE_AFTER_SLOTS ?? 0);
if (!isMainThread && after > 0 && parentPort) {
  let seen = 0;
  parentPort.on('message', (batch) => {
    for (let i = 1; i < batch.length; i += 3) if (batch[i] === 'delivery.slotsJson') seen++;
    if (seen >= after) throw new Error('engine thread crash (test preload)');
  });
}
