import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reach, SPARSE_MAX } from '../../src/store/reach.js';

/**
 * The dense sketch as it was before sparse sketches (4,096 registers, always), kept here as the
 * oracle: the sparse form must give the same estimates for the same inputs, read what it stored,
 * and its dense form must store the same bytes.
 */
class DenseReach {
  registers = new Uint8Array(4096);
  static parse(text: string | null): DenseReach {
    const reach = new DenseReach();
    if (!text) return reach;
    const bytes = Uint8Array.from(Buffer.from(text, 'base64'));
    if (bytes.length === 4096) reach.registers = bytes;
    return reach;
  }
  serialize(): string {
    return Buffer.from(this.registers).toString('base64');
  }
  addPoint(point: number): boolean {
    const index = point >>> 6;
    const rank = point & 63;
    if (this.registers[index] >= rank) return false;
    this.registers[index] = rank;
    return true;
  }
  merge(other: DenseReach): this {
    for (let i = 0; i < 4096; i++) if (other.registers[i] > this.registers[i]) this.registers[i] = other.registers[i];
    return this;
  }
  estimate(): number {
    const Q = 52;
    const M = 4096;
    const counts = new Array<number>(Q + 2).fill(0);
    for (const r of this.registers) counts[r]++;
    let z = M * tau(1 - counts[Q + 1] / M);
    for (let k = Q; k >= 1; k--) z = 0.5 * (z + counts[k]);
    z += M * sigma(counts[0] / M);
    return Math.round((1 / (2 * Math.LN2)) * M * (M / z));
  }
}

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

/** A pseudonym's first 16 hex digits (all `Reach.point` reads). */
const hexId = fc
  .tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }))
  .map(([a, b]) => a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0'));
/** Points with every rank, and indexes from a narrow range too, so registers collide often. */
const point = fc.oneof(
  hexId.map((id) => Reach.point(id)),
  fc.tuple(fc.nat({ max: 4095 }), fc.integer({ min: 1, max: 53 })).map(([i, r]) => i * 64 + r),
  fc.tuple(fc.nat({ max: 31 }), fc.integer({ min: 1, max: 53 })).map(([i, r]) => i * 64 + r),
);
/** Sizes on both sides of where a sketch turns dense. */
const points = fc.oneof(
  fc.array(point, { maxLength: 40 }),
  fc.array(point, { minLength: SPARSE_MAX - 20, maxLength: SPARSE_MAX + 400 }),
  fc.array(point, { maxLength: 3000 }),
);

/** Bytes of the stored form: 4,096 for the dense array, 1 + 3 per register for the sparse one. */
const storedBytes = (reach: Reach) => Buffer.from(reach.serialize(), 'base64').length;

function both(list: number[]): { reach: Reach; dense: DenseReach; changed: boolean[] } {
  const reach = Reach.empty();
  const dense = new DenseReach();
  const changed: boolean[] = [];
  for (const p of list) {
    const a = reach.addPoint(p);
    expect(dense.addPoint(p)).toBe(a);
    changed.push(a);
  }
  return { reach, dense, changed };
}

describe('Reach: sparse and dense forms give what the dense sketch gives', () => {
  it('adds, estimates and round-trips like the dense sketch, whichever form it is in', () => {
    fc.assert(
      fc.property(points, (list) => {
        const { reach, dense } = both(list);
        expect(reach.estimate()).toBe(dense.estimate());
        const text = reach.serialize();
        expect(Reach.parse(text).estimate()).toBe(dense.estimate());
        expect(Reach.parse(text).serialize()).toBe(text);
        // Dense once past SPARSE_MAX registers, and then stored byte for byte as before.
        const set = dense.registers.filter((r) => r > 0).length;
        if (set > SPARSE_MAX) expect(text).toBe(dense.serialize());
        else expect(Buffer.from(text, 'base64').length).toBe(1 + 3 * set);
      }),
      { numRuns: 300 },
    );
  });

  it('reads sketches the dense-only version stored, with the same estimate, and merges them the same', () => {
    fc.assert(
      fc.property(points, points, (a, b) => {
        const old = both(a).dense;
        const stored = old.serialize();
        const read = Reach.parse(stored);
        expect(read.estimate()).toBe(old.estimate());
        const { reach, dense } = both(b);
        expect(read.merge(reach).estimate()).toBe(DenseReach.parse(stored).merge(dense).estimate());
      }),
      { numRuns: 200 },
    );
  });

  it('merges any two sketches, in either form and either order, into the union the dense sketch gives', () => {
    fc.assert(
      fc.property(points, points, fc.boolean(), (a, b, viaText) => {
        const x = both(a);
        const y = both(b);
        const union = new DenseReach().merge(x.dense).merge(y.dense);
        const left = viaText ? Reach.parse(x.reach.serialize()) : x.reach;
        const right = viaText ? Reach.parse(y.reach.serialize()) : y.reach;
        expect(left.merge(right).estimate()).toBe(union.estimate());
        expect(Reach.parse(left.serialize()).estimate()).toBe(union.estimate());
      }),
      { numRuns: 200 },
    );
  });

  it('adds ids as their points do', () => {
    fc.assert(
      fc.property(fc.array(hexId, { maxLength: 2000 }), (ids) => {
        const reach = Reach.empty();
        const dense = new DenseReach();
        for (const id of ids) expect(reach.add(id)).toBe(dense.addPoint(Reach.point(id)));
        expect(reach.estimate()).toBe(dense.estimate());
      }),
      { numRuns: 50 },
    );
  });
});

describe('Reach: the sparse form', () => {
  it('stores a row with a few users in a few bytes (3 per register), not 4 KiB', () => {
    const reach = Reach.empty();
    reach.add('0123456789abcdef0123');
    reach.add('fedcba98765432100123');
    reach.add('8000000000000000ffff');
    expect(Buffer.from(reach.serialize(), 'base64')).toHaveLength(1 + 3 * 3);
    expect(reach.bytes).toBeLessThanOrEqual(16);
    expect(Reach.parse(reach.serialize()).estimate()).toBe(3);
  });

  it('turns a stored dense sketch with few registers set into the sparse form (written small from then on)', () => {
    const old = new DenseReach();
    old.addPoint(5 * 64 + 3);
    old.addPoint(4000 * 64 + 1);
    const read = Reach.parse(old.serialize());
    expect(read.serialize()).toHaveLength(12); // base64 of the tag and two points
    expect(read.estimate()).toBe(old.estimate());
  });

  it('keeps a stored dense sketch whose registers no point can hold as it was', () => {
    const bytes = new Uint8Array(4096);
    bytes[7] = 60; // no rank is above 53: damaged, but read as the dense-only version read it
    const read = Reach.parse(Buffer.from(bytes).toString('base64'));
    expect(read.serialize()).toBe(Buffer.from(bytes).toString('base64'));
  });

  it('treats damaged sparse text as an empty sketch', () => {
    const sparse = (...bytes: number[]) => Buffer.from(bytes).toString('base64');
    const valid = sparse(1, 0, 1, 3, 0, 2, 2);
    expect(Reach.parse(valid).estimate()).toBe(2);
    for (const damaged of [
      sparse(2, 0, 1, 3), // unknown tag
      sparse(1, 0, 1), // not whole points
      sparse(1, 0, 2, 3, 0, 1, 2), // indexes out of order
      sparse(1, 0, 1, 3, 0, 1, 4), // one register twice
      sparse(1, 0, 1, 0), // rank 0
      sparse(1, 0, 1, 54), // rank past 53
      sparse(1, 0xff, 0xff, 0xc1), // register 262,143: past the 4,096 there are
      sparse(1, 0, 1, 3, 0x04, 0, 1), // register 4,096
    ]) {
      expect(Reach.parse(damaged).estimate()).toBe(0);
    }
    expect(Reach.parse(sparse(1)).estimate()).toBe(0);
    expect(Reach.parse('Af//wQ==').serialize()).toBe(Reach.empty().serialize());
  });

  it('treats text that is not base64 as an empty sketch, never an error', () => {
    for (const damaged of ['not base64 !!', '!!!notbase64', 'AQ=', '\u00e9t\u00e9', '====']) {
      expect(Reach.parse(damaged).estimate()).toBe(0);
      expect(Reach.parse(damaged).serialize()).toBe(Reach.empty().serialize());
    }
  });

  it('holds at most about the dense size in memory, and grows into the dense form past SPARSE_MAX registers', () => {
    const reach = Reach.empty();
    for (let i = 0; i < SPARSE_MAX; i++) reach.addPoint(i * 64 + 1);
    expect(storedBytes(reach)).toBe(1 + 3 * SPARSE_MAX);
    expect(reach.bytes).toBeLessThanOrEqual(4096);
    expect(reach.addPoint(SPARSE_MAX * 64 + 1)).toBe(true);
    expect(storedBytes(reach)).toBe(4096);
    expect(reach.bytes).toBe(4096);
  });

  it('grows a parsed sparse sketch no larger in memory than the dense form', () => {
    // A parsed sketch's room is its points; doubling it past 512 points once took more than 4 KiB.
    for (const n of [513, 558, SPARSE_MAX - 1]) {
      const stored = Reach.empty();
      for (let i = 0; i < n; i++) stored.addPoint(i * 64 + 1);
      const read = Reach.parse(stored.serialize());
      expect(read.addPoint(n * 64 + 1)).toBe(true);
      expect(storedBytes(read)).toBe(1 + 3 * (n + 1));
      expect(read.bytes).toBeLessThanOrEqual(4096);
    }
  });
});
