/**
 * The wire between the main thread and the engine thread alone, in process: the real `Outbox`
 * (src/runtime/engine-rpc.ts) on both sides, a slot call's real shapes (the parsed body with its client id
 * going over, an answer of two slots with 287-character tokens coming back as its JSON, one string),
 * and an engine side that answers at once. K calls are posted per event-loop turn (what one message carries)
 * and the next K only once all K are answered, so each message finds the other thread asleep, as the
 * slowest case in the server does. Prints each thread's CPU per call (user + system, /proc/thread-self)
 * and the wall time per call, for several K.
 *
 *   npx tsx bench/lane-crossing.ts [--calls=40000] [--batches=1,2,4,8,16,32]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Outbox } from '../src/runtime/engine-rpc.js';

/** This thread's CPU so far, µs (user + system). */
function threadCpuUs(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const TOKEN = `k1.${'A'.repeat(284)}`;
const WARM = 500;
/** An ad view's JSON as a slot answer carries it (shape of delivery's SlotView['ad']). */
const AD = JSON.stringify({
  creativeId: 'cr_0123456789abcdef',
  campaignId: 'cmp_0123456789abcdef',
  advertiser: {
    id: 'adv_0123456789abcdef',
    name: 'Bakery Nowak',
    description: 'Bread and cakes since 1952',
    address: 'ul. Długa 1, Gdańsk',
    email: null,
    website: 'https://example.com',
    category: 'food',
  },
  headline: 'Fresh bread every morning',
  cta: { label: 'Visit', url: 'https://example.com/visit' },
  media: { url: 'https://ads.example.com/media/0123456789abcdef.jpg', width: 720, height: 1280, type: 'image/jpeg' },
});

if (isMainThread) {
  const { values: o } = parseArgs({
    strict: true,
    options: {
      calls: { type: 'string', default: '40000' },
      batches: { type: 'string', default: '1,2,4,8,16,32' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) {
    console.log('Usage: npx tsx bench/lane-crossing.ts [--calls=N] [--batches=1,2,4,...]');
    process.exit(0);
  }
  console.log('calls per message | main µs CPU/call | engine µs CPU/call | wall µs/call');
  for (const k of o.batches.split(',').map(Number)) {
    // This file again, through tsx's loader (its `--import` registers it on the main thread only).
    const entry = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const worker = new Worker(entry, { eval: true, workerData: { k } });
    const pending = new Map<number, () => void>();
    worker.on('message', (batch: unknown[]) => {
      for (let i = 0; i < batch.length; i += 3) {
        const id = batch[i] as number;
        pending.get(id)?.();
        pending.delete(id);
      }
    });
    const out = new Outbox(worker, () => {});
    let id = 0;
    const rounds = Math.max(WARM + 10, Math.ceil(Number(o.calls) / k));
    let cpu0 = 0;
    let wall0 = 0;
    for (let r = 0; r < rounds; r++) {
      if (r === WARM) {
        cpu0 = threadCpuUs();
        wall0 = performance.now();
      }
      const answered: Promise<void>[] = [];
      for (let j = 0; j < k; j++) {
        const call = ++id;
        const input = {
          user: `user-${call}`,
          statuses: 12,
          context: { country: 'DE', language: 'de', platform: 'android' },
          clientId: 'cl_0123456789abcdef',
        };
        out.post(call, 'delivery.slotsJson', [input]);
        answered.push(new Promise<void>((resolve) => pending.set(call, resolve)));
      }
      await Promise.all(answered);
    }
    const calls = (rounds - WARM) * k;
    const mainUs = (threadCpuUs() - cpu0) / calls;
    const wallUs = ((performance.now() - wall0) * 1000) / calls;
    worker.postMessage('report');
    const engineUs = await new Promise<number>((resolve) => worker.once('message', resolve));
    console.log(`${k} | ${mainUs.toFixed(2)} | ${engineUs.toFixed(2)} | ${wallUs.toFixed(1)}`);
    await worker.terminate();
  }
} else {
  const port = parentPort!;
  const { k } = workerData as { k: number };
  const out = new Outbox(port, () => {});
  let calls = 0;
  let cpu0 = 0;
  port.on('message', (batch: unknown[] | 'report') => {
    if (batch === 'report') {
      port.postMessage((threadCpuUs() - cpu0) / (calls - WARM * k));
      return;
    }
    for (let i = 0; i < batch.length; i += 3) {
      if (calls++ === WARM * k) cpu0 = threadCpuUs();
      const [input] = batch[i + 2] as [{ user: string }];
      // Two slots, as the answer crosses: its JSON, one string (Delivery.slotsJson).
      out.post(
        batch[i],
        0,
        `{"slots":[{"after":${input.user.length},"token":"${TOKEN}","ad":${AD}},{"after":8,"token":"${TOKEN}","ad":${AD}}]}`,
      );
    }
  });
}
