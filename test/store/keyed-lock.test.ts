import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../src/store/keyed-lock.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('KeyedLock', () => {
  it('runs one key’s work one at a time, in arrival order, and other keys alongside', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let inside = 0;
    const job = (key: string, name: string) =>
      lock.run(key, async () => {
        inside++;
        expect(inside).toBeLessThanOrEqual(2); // at most one per key, two keys
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
        inside--;
        return name;
      });
    const results = await Promise.all([job('a', 'a1'), job('a', 'a2'), job('b', 'b1'), job('a', 'a3')]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'a3']);
    const a = log.filter((e) => e.startsWith('a'));
    expect(a).toEqual(['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
  });

  it('starts work on a free key at once, and queues work on a held one', async () => {
    const lock = new KeyedLock();
    const started: string[] = [];
    const first = lock.run('k', async () => {
      started.push('first');
      await tick();
    });
    // Synchronously: no turn of the microtask queue for a key nobody holds.
    expect(started).toEqual(['first']);
    const second = lock.run('k', async () => {
      started.push('second');
    });
    expect(started).toEqual(['first']);
    await Promise.all([first, second]);
    expect(started).toEqual(['first', 'second']);
    // Released: the key is free again, so the next work starts at once too.
    lock.run('k', async () => {
      started.push('third');
    });
    expect(started).toEqual(['first', 'second', 'third']);
  });

  it('hands the key on when work fails, and the failure reaches only its caller', async () => {
    const lock = new KeyedLock();
    const failing = lock.run('k', async () => {
      await tick();
      throw new Error('boom');
    });
    const next = lock.run('k', async () => 'ran');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
  });
});
