/**
 * Reach (unique users per campaign-day) as a HyperLogLog sketch with 2^12
 * registers: standard error 1.04/√4096 ≈ 1.6%, and no user id is kept.
 * Inputs are already HMAC-SHA256 hex pseudonyms, i.e. uniformly random, so
 * their bits serve as the hash directly.
 */
import { decodeBase64, encodeBase64 } from 'hono/utils/encode';

const NodeBuffer = (
  globalThis as {
    Buffer?: { from(buffer: ArrayBufferLike, offset: number, length: number): { toString(encoding: 'base64'): string } };
  }
).Buffer;

const P = 12;
const M = 1 << P;
/** Hash bits left after the register index; ranks run 1..Q+1. */
const Q = 64 - P;
const ALPHA_INF = 1 / (2 * Math.LN2);

export class Reach {
  private constructor(private registers: Uint8Array) {}

  static empty(): Reach {
    return new Reach(new Uint8Array(M));
  }

  static parse(serialized: string | null | undefined): Reach {
    if (!serialized) return Reach.empty();
    const registers = decodeBase64(serialized);
    return registers.length === M ? new Reach(registers) : Reach.empty();
  }

  serialize(): string {
    // The same text; Node's Buffer encodes 4 KiB ~20 times faster than building a binary string for btoa.
    if (NodeBuffer)
      return NodeBuffer.from(this.registers.buffer, this.registers.byteOffset, this.registers.byteLength).toString('base64');
    return encodeBase64(this.registers.buffer as ArrayBuffer);
  }

  /** Adds a pseudonymous id (hex, ≥ 16 chars); returns whether the sketch changed. */
  add(hexId: string): boolean {
    return this.addPoint(Reach.point(hexId));
  }

  /**
   * Where an id lands in any sketch (register index × 64 + rank): computed once, it can be
   * added to several sketches (`addPoint`), as an event's report rows do.
   */
  static point(hexId: string): number {
    const high = parseInt(hexId.slice(0, 8), 16) >>> 0;
    const low = parseInt(hexId.slice(8, 16), 16) >>> 0;
    const index = high >>> (32 - P);
    // Rank: position of the first 1 bit in the remaining 52 bits.
    const rest = ((high << P) >>> 0) >>> 0;
    const rank = rest === 0 ? 32 - P + 1 + (low === 0 ? 32 : Math.clz32(low)) : Math.clz32(rest) + 1;
    return index * 64 + Math.min(rank, Q + 1);
  }

  /** Adds an id by its `point`; returns whether the sketch changed. */
  addPoint(point: number): boolean {
    const index = point >>> 6;
    const rank = point & 63;
    if (this.registers[index] >= rank) return false;
    this.registers[index] = rank;
    return true;
  }

  /** Adds every user of `other` (register-wise maximum): the sketch of the union. */
  merge(other: Reach): this {
    for (let i = 0; i < M; i++) if (other.registers[i] > this.registers[i]) this.registers[i] = other.registers[i];
    return this;
  }

  /**
   * Ertl's improved raw estimator ("New cardinality estimation algorithms for
   * HyperLogLog sketches", 2017, as in Redis): one formula from 0 to 2^64, so
   * no biased hand-over between linear counting and the classic HLL estimate
   * (which near 2.5·m ≈ 10k users was off by up to 5%).
   */
  estimate(): number {
    const counts = new Array<number>(Q + 2).fill(0);
    for (const r of this.registers) counts[r]++;
    let z = M * tau(1 - counts[Q + 1] / M);
    for (let k = Q; k >= 1; k--) z = 0.5 * (z + counts[k]);
    z += M * sigma(counts[0] / M);
    return Math.round(ALPHA_INF * M * (M / z));
  }
}

/** σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1): the empty-register correction. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

/** τ(x): the correction for registers at the maximum rank. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === previous) return z / 3;
  }
}
