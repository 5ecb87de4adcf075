/** Shared measuring tools: HDR latency histograms, the machine record, heap measurement, progress lines. */

import { cpus, loadavg, totalmem } from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/** Nanosecond histogram, 3 significant digits, up to 60 s. */
export function nsHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
}

const us = (ns: number) => Math.round(ns / 10) / 100;

export function summarizeNs(h: hdr.Histogram): LatencySummary {
  return {
    count: h.totalCount,
    meanUs: us(h.mean),
    p50Us: us(h.getValueAtPercentile(50)),
    p90Us: us(h.getValueAtPercentile(90)),
    p99Us: us(h.getValueAtPercentile(99)),
    p999Us: us(h.getValueAtPercentile(99.9)),
    maxUs: us(h.maxValue),
  };
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started: other work on the machine skews absolute figures. */
  loadAverageAtStart: number;
  loadAverageAtEnd?: number;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpuModel: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverageAtStart: Math.round(loadavg()[0] * 100) / 100,
  };
}

let gcFn: (() => void) | undefined;
/** A full GC without needing `--expose-gc` on the command line. */
export function gc(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

export function heapUsedBytes(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

const started = Date.now();
/** One progress line on stderr, with elapsed seconds, so stdout stays the report. */
export function progress(message: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}

/** Correctness counters every benchmark reports; all must be 0. */
export interface Counters {
  capViolations: number;
  blockedServed: number;
  budgetOverspend: number;
  serverErrors: number;
}

export const zeroCounters = (): Counters => ({ capViolations: 0, blockedServed: 0, budgetOverspend: 0, serverErrors: 0 });

export function addCounters(a: Counters, b: Counters): Counters {
  return {
    capViolations: a.capViolations + b.capViolations,
    blockedServed: a.blockedServed + b.blockedServed,
    budgetOverspend: a.budgetOverspend + b.budgetOverspend,
    serverErrors: a.serverErrors + b.serverErrors,
  };
}

/** The median: the mean of the two middle values for an even count. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = (s.length - 1) / 2;
  return (s[Math.floor(mid)] + s[Math.ceil(mid)]) / 2;
}

/** A tool's numeric option: its value as a non-negative number, or an error naming `--name`. */
export function numberOf(name: string, value: unknown): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number, not ${value}`);
  return v;
}
