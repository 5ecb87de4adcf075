/**
 * The Node log at process exit: every line written before `process.exit` reaches stdout, whole and in order,
 * also when stdout is a pipe its reader has not drained yet (a piece still being written when the process
 * exits). A real child process writing through `createNodeLog`, read only after a pause.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './process.js';

/** The child: a line larger than the pipe holds, then numbered lines, then an immediate exit. */
const CHILD = `
import { createNodeLog } from './src/ops/node-log.ts';
const log = createNodeLog('info', { pretty: false });
log.info({ n: 0, pad: 'x'.repeat(300_000) }, 'big');
for (let n = 1; n <= 3000; n++) log.info({ n }, 'line');
process.exit(0);
`;

describe('the Node log at exit', () => {
  it('writes every line held or being written, in order, before the process is gone', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Nobody reads the pipe for a while: the child's writes fill it and wait.
    child.stdout.pause();
    await new Promise((r) => setTimeout(r, 1500));
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.stdout.resume();
    const code = await new Promise<number | null>((ok) => child.once('close', ok));
    expect(code).toBe(0);
    const numbers = out
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => (JSON.parse(line) as { n: number }).n);
    expect(numbers).toEqual(Array.from({ length: 3001 }, (_, n) => n));
  });
});
