import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { LoadResult } from './run-load';

const SCRIPT = join(__dirname, 'wrk-hot.lua');

export interface WrkOptions {
  title: string;
  url: string;
  connections: number;
  durationS: number;
  apiKey?: string;
  /** Buildings requested round-robin (bld-00000 …). */
  keys: number;
  /** Pins wrk to this CPU (`taskset -c`), for A/B runs with the servers pinned to the other one. */
  cpu?: number;
}

/**
 * One closed-loop run of wrk (C, one thread): far less CPU per request than autocannon, so on a 2-core
 * machine the server under test gets most of the other core — the figures of the issue were taken this
 * way. Latency is wrk's (µs resolution, every response). Non-2xx/3xx answers count as errors.
 */
export function runWrk(opts: WrkOptions): Promise<LoadResult> {
  const args = [
    '-t1',
    `-c${opts.connections}`,
    `-d${opts.durationS}s`,
    '--timeout',
    '10s',
    '-s',
    SCRIPT,
    opts.url,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      opts.cpu === undefined ? 'wrk' : 'taskset',
      opts.cpu === undefined ? args : ['-c', String(opts.cpu), 'wrk', ...args],
      { env: { PATH: process.env.PATH ?? '', WRK_KEYS: String(opts.keys), WRK_API_KEY: opts.apiKey ?? '' } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`wrk failed: ${err.message}\n${stderr}`));
        const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
        if (!line) return reject(new Error(`wrk printed no summary:\n${stdout}\n${stderr}`));
        const w = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, number>;
        const seconds = w.durationUs / 1e6;
        const ms = (us: number): number => Math.round(us) / 1000;
        const errors = w.connect + w.read + w.write;
        resolve({
          title: opts.title,
          connections: opts.connections,
          durationS: Math.round(seconds * 100) / 100,
          requests: w.requests,
          rps: Math.round(w.requests / seconds),
          latencyMs: { mean: ms(w.mean), p50: ms(w.p50), p95: ms(w.p95), p99: ms(w.p99), max: ms(w.max) },
          errors,
          timeouts: w.timeout,
          non2xx: w.status,
          errorRate:
            Math.round(((errors + w.timeout + w.status) / Math.max(1, w.requests + errors)) * 1e5) / 1e5,
          status: {},
          xCache: {},
          hitRatio: null,
          distinctKeys: Math.min(opts.keys, w.requests),
        });
      },
    );
  });
}
