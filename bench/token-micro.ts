/**
 * Token sealing and opening alone, in process: µs of CPU per token (Node's synchronous path), sealed and
 * opened in rounds as the engine seals them and POST /v1/events opens them. `npx tsx bench/token-micro.ts [--n=200000]`
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
const hex = (i: number) => i.toString(16).padStart(64, '0');
// The claims are built before the clock starts, and sealing is timed over rounds like opening: a first, cold
// round that also built its claims read ~15 µs per seal, twice an open, where a warm seal costs about an open.
const claims = Array.from({ length: n }, (_, i) => ({
  reservationId: `r${(now * 1000 + i).toString(36)}${i.toString(36).padStart(6, '0')}`,
  uid: hex(i * 2654435761),
  campaignId: `cmp_${(i % 1000).toString(36).padStart(10, 'x')}`,
  creativeId: `crv_${(i % 2000).toString(36).padStart(10, 'y')}`,
  expiresAt: now + 900_000,
  clientId: 'cli_benchclient01',
}));
const tokens: string[] = new Array(n);
for (let round = 0; round < 5; round++) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) tokens[i] = signer.sign(claims[i]) as string;
  const d = process.cpuUsage(t0);
  console.log(
    `seal: ${((d.user + d.system) / n).toFixed(2)} µs/token (user ${(d.user / n).toFixed(2)}); token ${tokens[0].length} chars`,
  );
}
for (let round = 0; round < 5; round++) {
  let ok = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const c = signer.verify(tokens[i], now) as { ok: boolean };
    if (c.ok) ok++;
  }
  const d = process.cpuUsage(t0);
  console.log(`open: ${((d.user + d.system) / n).toFixed(2)} µs/token (user ${(d.user / n).toFixed(2)}), ${ok} ok`);
}
