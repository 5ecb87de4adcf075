/**
 * The Node and Workers log lines are written without pino (one JSON.stringify per line); they must
 * stay what pino wrote: same keys, in the same order, with the same values, and an ISO time.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { errorFields, formatLogLine, jsonLinesLog } from '../../src/ops/log.js';

function pinoLine(level: 'info' | 'warn' | 'error', fields: object, message?: string): string {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  const logger = pino({ level: 'info', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, sink);
  logger[level](fields, message);
  return out.trim();
}

/** The line without its time, keys in order. */
const withoutTime = (line: string) => {
  const { time, ...rest } = JSON.parse(line);
  expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return JSON.stringify(rest);
};

describe('log lines', () => {
  const cases: [30 | 40 | 50, 'info' | 'warn' | 'error', object, string | undefined][] = [
    [
      30,
      'info',
      { reqId: 'abc-1', method: 'POST', route: '/v1/slots', status: 200, ms: 1.3, key: { kind: 'client', id: 'cli_x' } },
      'request',
    ],
    [30, 'info', { reqId: 'r', method: 'GET', route: 'unmatched', status: 404, ms: 0, key: undefined }, 'request'],
    [40, 'warn', {}, 'SECRET is too weak: "quotes", \\ and \u2028 and ünïcode'],
    [50, 'error', { fault: { type: 'Error', message: 'boom\nline two', stack: 'Error: boom\n    at x' } }, 'request failed'],
    [30, 'info', { host: '127.0.0.1', port: 8080, nested: { a: [1, 'two', null] } }, undefined],
  ];

  it('are what pino writes, but for the time', () => {
    for (const [level, name, fields, message] of cases) {
      const ours = formatLogLine(level, fields, message);
      expect(withoutTime(ours)).toBe(withoutTime(pinoLine(name, fields, message)));
      expect(ours).toBe(ours.trim());
    }
  });

  it("keep an error's own type (pino's err serializer wrote every plain `err` as type Object)", () => {
    const line = JSON.parse(formatLogLine(50, { reqId: 'x', ...errorFields(new RangeError('bad')) }, 'request failed'));
    expect(line.err).toMatchObject({ type: 'RangeError', message: 'bad' });
    expect(JSON.parse(pinoLine('error', errorFields(new RangeError('bad')))).err.type).toBe('Object');
  });

  it('still go out, without the fields, when a field cannot be written as JSON (logging never throws)', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const fields of [{ n: 1n }, { cycle }]) {
      const line = JSON.parse(formatLogLine(50, fields, 'request failed'));
      expect(line).toMatchObject({ level: 50, fields: 'unserialisable', msg: 'request failed' });
    }
  });

  it('leave out lines below the level', () => {
    const lines: string[] = [];
    const log = jsonLinesLog('warn', (l) => lines.push(l));
    log.info({ a: 1 }, 'no');
    log.warn({ b: 2 }, 'yes');
    log.error({}, 'also');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['yes', 'also']);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 40, b: 2 });
  });
});
