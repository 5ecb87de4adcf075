import { availableParallelism, loadavg } from 'node:os';
import { defineConfig } from 'vitest/config';
import type { TestSpecification } from 'vitest/node';
import { BaseSequencer } from 'vitest/node';

/**
 * The slowest files, slowest first (seconds on an idle 2-core machine). Started first so
 * that no long file begins near the end while the other worker has run dry. Vitest's
 * own order (by the last run's durations, or by file size on a fresh clone, where these
 * small files would come last) follows for the rest.
 */
const SLOW_FIRST = [
  'test/store/workers.test.ts',
  'test/runtime/engine-thread.test.ts',
  'test/store/workers-sharded.test.ts',
  'test/security/soak.test.ts',
  'test/console/story.test.ts',
  'test/security/wire.test.ts',
  'test/ops/signals.test.ts',
  'test/ops/config-errors.test.ts',
];

/**
 * Vitest's default is one worker fewer than the cores: one file at a time on CI's 2 cores, while
 * most files wait on processes, servers, workerd or Chromium rather than computing. So one worker
 * per core (at least 2), unless the machine is already loaded past twice its cores (a shared
 * development machine; CI's own `npm ci` and tsc just before stay well below): then a second file would only lengthen every other process's waits (servers that must
 * start within their tests' time limits), and files run one at a time as before.
 * `vitest run --maxWorkers=N` still decides.
 */
function workers(): number {
  const cores = availableParallelism();
  return loadavg()[0] > 2 * cores ? 1 : Math.max(2, cores);
}

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const i = SLOW_FIRST.findIndex((name) => spec.moduleId.endsWith(name));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: workers(),
    sequence: { sequencer: SlowFirstSequencer },
  },
});
