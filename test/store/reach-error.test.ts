import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Reach } from '../../src/store/reach.js';

/** The documented standard error: 1.04/√m with m = 4096 registers. */
const STANDARD_ERROR = 1.04 / Math.sqrt(4096);

/** n distinct pseudonyms shaped like the real ones (HMAC-SHA256 hex), reproducible from `seed`. */
function pseudonyms(seed: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => createHash('sha256').update(`${seed}/${i}`).digest('hex'));
}

function estimateOf(ids: string[]): number {
  const reach = Reach.empty();
  for (const id of ids) reach.add(id);
  return reach.estimate();
}

describe('Reach (HyperLogLog, 2^12 registers)', () => {
  it.each([1, 10, 100, 1_000, 3_000, 10_000, 20_000, 50_000, 100_000])('estimates %i users within 3 standard errors', (n) => {
    const estimate = estimateOf(pseudonyms(`size-${n}`, n));
    expect(Math.abs(estimate - n)).toBeLessThanOrEqual(Math.max(1, 3 * STANDARD_ERROR * n));
  });

  it("serializes as standard base64 of its 4096 registers, the same text whether Node's Buffer or btoa encodes it", () => {
    const reach = Reach.empty();
    for (const id of pseudonyms('serialize', 2_000)) reach.add(id);
    const text = reach.serialize();
    const registers = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    expect(registers).toHaveLength(4096);
    expect(btoa(String.fromCharCode(...registers))).toBe(text);
    expect(Reach.parse(text).estimate()).toBe(reach.estimate());
  });

  it('is exact for an empty day and for a handful of users', () => {
    expect(Reach.empty().estimate()).toBe(0);
    expect(Reach.parse(null).estimate()).toBe(0);
    for (let n = 1; n <= 20; n++) expect(estimateOf(pseudonyms(`few-${n}`, n))).toBe(n);
  });

  it('has a root-mean-square error near the stated one across many sketches', () => {
    // 24 independent days of 5,000 users each (near where estimators hand over, the hardest range).
    let squares = 0;
    const days = 24;
    for (let day = 0; day < days; day++) {
      const n = 5_000;
      const relative = (estimateOf(pseudonyms(`day-${day}`, n)) - n) / n;
      squares += relative * relative;
    }
    expect(Math.sqrt(squares / days)).toBeLessThan(1.5 * STANDARD_ERROR);
  });

  it('counts a user once however often they are seen', () => {
    const ids = pseudonyms('repeat', 2_000);
    const reach = Reach.empty();
    for (const id of ids) reach.add(id);
    const once = reach.estimate();
    for (const id of ids) expect(reach.add(id)).toBe(false);
    expect(reach.estimate()).toBe(once);
  });

  it('survives serialisation unchanged, and treats a damaged sketch as empty', () => {
    const reach = Reach.empty();
    for (const id of pseudonyms('wire', 5_000)) reach.add(id);
    const copy = Reach.parse(reach.serialize());
    expect(copy.estimate()).toBe(reach.estimate());
    expect(copy.serialize()).toBe(reach.serialize());
    expect(Reach.parse('AAAA').estimate()).toBe(0);
  });
});
