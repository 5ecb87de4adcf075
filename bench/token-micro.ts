/**
 * Token sealing and opening alone, in process: µs of CPU per token (Node's synchronous path), sealed and
 * opened in rounds as the engine seals them and POST /v1/events opens them, for both kinds side by side: sealed
 * claims (AES-256-GCM, Workers and tokens in flight) and handles (one AES block, what Node serves), handles also
 * opened a batch of 100 at a time (`verifyAll`, as an event batch is). `npx tsx bench/token-micro.ts [--n=200000]`
 */
import { parseArgs } from 'node:util';
import { TokenSigner } from '../src/privacy/token.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200000' }, help: { type: 'boolean' } }, strict: true });
if (values.help) {
  console.log('npx tsx bench/token-micro.ts [--n=N]   µs of CPU per token sealed and opened, claims and handles, Node');
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
const numbered = claims.map((c, i) => ({ ...c, reservationNumber: i + 1 }));
/** µs of CPU per token of `work` over `n` tokens, and what it reports. */
function timed(label: string, work: () => string) {
  const t0 = process.cpuUsage();
  const said = work();
  const d = process.cpuUsage(t0);
  console.log(`${label}: ${((d.user + d.system) / n).toFixed(2)} µs/token (user ${(d.user / n).toFixed(2)})${said}`);
}
const kinds = [
  { kind: 'claims', seal: (i: number) => signer.sign(claims[i]) as string },
  { kind: 'handle', seal: (i: number) => signer.slotToken(numbered[i]) as string },
];
for (const { kind, seal } of kinds) {
  const tokens: string[] = new Array(n);
  for (let round = 0; round < 5; round++) {
    timed(`${kind} seal`, () => {
      for (let i = 0; i < n; i++) tokens[i] = seal(i);
      return `; token ${tokens[0].length} chars`;
    });
  }
  for (let round = 0; round < 5; round++) {
    timed(`${kind} open`, () => {
      let ok = 0;
      for (let i = 0; i < n; i++) if ((signer.verify(tokens[i], now, 'cli_benchclient01') as { ok: boolean }).ok) ok++;
      return `, ${ok} ok`;
    });
  }
  for (let round = 0; round < 3; round++) {
    timed(`${kind} open, batches of 100`, () => {
      let ok = 0;
      for (let i = 0; i < n; i += 100) {
        for (const c of signer.verifyAll(tokens.slice(i, i + 100), now, 'cli_benchclient01')) if ((c as { ok: boolean }).ok) ok++;
      }
      return `, ${ok} ok`;
    });
  }
}
