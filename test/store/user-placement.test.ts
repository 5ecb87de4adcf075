/** Users on Workers: one object each, or hashed into shared objects by their pseudonym. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_USER_SHARDS, parseUserShards, userObjectName } from '../../src/store/durable-object/placement.js';

const uid = (i: number) => (BigInt(i) * 0x9e3779b97f4a7c15n).toString(16).padStart(16, '0').repeat(4).slice(0, 64);

describe('user placement', () => {
  it('keeps one object per user with 0 shards', () => {
    expect(userObjectName(uid(1), 0)).toBe(uid(1));
  });

  it('puts a user always in the same shared object, and spreads users evenly', () => {
    expect(userObjectName(uid(7), 16)).toBe(userObjectName(uid(7), 16));
    const counts = new Map<string, number>();
    for (let i = 0; i < 16_000; i++) counts.set(userObjectName(uid(i), 16), (counts.get(userObjectName(uid(i), 16)) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });

  it('reads USER_SHARDS strictly', () => {
    expect(parseUserShards(undefined)).toBe(DEFAULT_USER_SHARDS);
    expect(parseUserShards('0')).toBe(0);
    expect(parseUserShards('256')).toBe(256);
    expect(() => parseUserShards('-1')).toThrow(/USER_SHARDS/);
    expect(() => parseUserShards('1.5')).toThrow(/USER_SHARDS/);
    expect(() => parseUserShards('lots')).toThrow(/USER_SHARDS/);
  });
});
