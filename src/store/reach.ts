/**
 * Reach (unique users per campaign-day) as a HyperLogLog sketch with 2^12
 * registers: standard error 1.04/√4096 ≈ 1.6%, and no user id is kept.
 * Inputs are already HMAC-SHA256 hex pseudonyms, i.e. uniformly random, so
 * their bits serve as the hash directly.
 */
import { decodeBase64, encodeBase64 } from 'hono/utils/encode';

const P = 12;
const M = 1 << P;
const ALPHA = 0.7213 / (1 + 1.079 / M);

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
    return encodeBase64(this.registers.buffer as ArrayBuffer);
  }

  /** Adds a pseudonymous id (hex, ≥ 16 chars); returns whether the sketch changed. */
  add(hexId: string): boolean {
    const high = parseInt(hexId.slice(0, 8), 16) >>> 0;
    const low = parseInt(hexId.slice(8, 16), 16) >>> 0;
    const index = high >>> (32 - P);
    // Rank: position of the first 1 bit in the remaining 52 bits.
    const rest = ((high << P) >>> 0) >>> 0;
    let rank = rest === 0 ? 32 - P + 1 + (low === 0 ? 32 : Math.clz32(low)) : Math.clz32(rest) + 1;
    rank = Math.min(rank, 64 - P + 1);
    if (this.registers[index] >= rank) return false;
    this.registers[index] = rank;
    return true;
  }

  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const raw = (ALPHA * M * M) / sum;
    // Small-range correction (linear counting) where HLL is biased.
    if (raw <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros));
    return Math.round(raw);
  }
}
