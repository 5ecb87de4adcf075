/**
 * Token opening alone, in process: µs of CPU per opened token (Node's synchronous path), in
 * batches as POST /v1/events opens them. `npx tsx bench/token-micro.ts [--n=200000]`
 */
import { parseArgs } from 'node:util';
import { TokenSigner } from '../src/privacy/token.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200000' }, help: { type: 'boolean' } }, strict: true });
if (values.help) {
  console.log('npx tsx bench/token-micro.ts [--n=N]   µs of CPU per token opened (and sealed), Node');
  process.exit(0);
}
const n = Number(values.n);
const signer = new TokenSigner(['current-secret', 'previous-secret']);
const now = Date.now();
await signer.sign({ reservationId: 'r', uid: 'u', campaignId: 'c', creativeId: 'k', expiresAt: now + 1, clientId: 'c' });
const tokens: string[] = [];
const hex = (i: number) => i.toString(16).padStart(64, '0');
let t0 = process.cpuUsage();
for (let i = 0; i < n; i++) {
  tokens.push(
    signer.sign({
      reservationId: `r${(now * 1000 + i).toString(36)}${i.toString(36).padStart(6, '0')}`,
      uid: hex(i * 2654435761),
      campaignId: `cmp_${(i % 1000).toString(36).padStart(10, 'x')}`,
      creativeId: `crv_${(i % 2000).toString(36).padStart(10, 'y')}`,
      expiresAt: now + 900_000,
      clientId: 'cli_benchclient01',
    }) as string,
  );
}
let d = process.cpuUsage(t0);
console.log(`seal: ${((d.user + d.system) / n).toFixed(2)} µs/token; token ${tokens[0].length} chars`);
for (let round = 0; round < 5; round++) {
  let ok = 0;
  t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const c = signer.verify(tokens[i], now) as { ok: boolean };
    if (c.ok) ok++;
  }
  d = process.cpuUsage(t0);
  console.log(`open: ${((d.user + d.system) / n).toFixed(2)} µs/token (user ${(d.user / n).toFixed(2)}), ${ok} ok`);
}
