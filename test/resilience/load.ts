import { Agent } from 'undici';
import { poll, sleep } from '../support/wait';

/** What one request of a load loop ended as. */
export interface Outcome {
  /** Which kind of request (e.g. 'cached', 'uncached'): assertions are per kind. */
  kind: string;
  key: string;
  /** HTTP status, or 0 when no response arrived (connection refused/reset, client timeout). */
  status: number;
  code?: string;
  xCache?: string | null;
  /** The network error's code/message when status is 0. */
  error?: string;
  /** ms since the loop started */
  startedAt: number;
  endedAt: number;
  /** which server answered (round-robin clients) */
  target?: string;
  body?: unknown;
}

export interface LoadLoopOptions {
  /** Concurrent workers, each sending one request at a time over keep-alive connections. */
  connections: number;
  /** Stop issuing new requests after this long (in-flight ones are still awaited). */
  durationMs: number;
  /** The next request of a worker; returning undefined ends that worker early. */
  next: (
    worker: number,
    i: number,
  ) =>
    { url: string; kind: string; key: string; headers?: Record<string, string>; target?: string } | undefined;
  /**
   * Also stops issuing new requests when it returns true (e.g. a load balancer saw readiness fail, or the
   * outcomes so far already show what the test waits for).
   */
  stop?: (outcomes: readonly Outcome[]) => boolean;
  /** Per-request client timeout (ms). */
  timeoutMs?: number;
  /** Keep the parsed JSON body in each outcome. */
  keepBody?: boolean;
}

/**
 * A bounded closed-loop load generator on keep-alive connections (an undici Agent, like a service
 * calling Atrium through a connection pool). Small on purpose — 10–20 workers for a few seconds — so
 * the suite stays reliable on 2-core CI machines; every request's outcome is kept for assertions.
 */
export async function loadLoop(opts: LoadLoopOptions): Promise<Outcome[]> {
  const agent = new Agent({ connections: opts.connections, keepAliveTimeout: 30_000, pipelining: 1 });
  const outcomes: Outcome[] = [];
  const t0 = performance.now();
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; ; i++) {
      if (performance.now() - t0 >= opts.durationMs || opts.stop?.(outcomes)) return;
      const req = opts.next(w, i);
      if (!req) return;
      const startedAt = performance.now() - t0;
      const base = { kind: req.kind, key: req.key, startedAt, target: req.target };
      try {
        const res = await fetch(req.url, {
          headers: req.headers,
          dispatcher: agent,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        outcomes.push({
          ...base,
          status: res.status,
          code: (body as { code?: string } | null)?.code,
          xCache: res.headers.get('x-cache'),
          endedAt: performance.now() - t0,
          body: opts.keepBody ? body : undefined,
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        outcomes.push({
          ...base,
          status: 0,
          error: cause?.code ?? cause?.message ?? (err as Error).message,
          endedAt: performance.now() - t0,
        });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.connections }, (_, w) => worker(w)));
  } finally {
    await agent.close();
  }
  return outcomes;
}

/** `{ '200': 812, '502:UPSTREAM_ERROR': 40 }` — compact, readable in a failed assertion. */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.status === 0 ? `net:${o.error}` : o.code ? `${o.status}:${o.code}` : String(o.status);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export { sleep };

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<boolean> {
  return (await poll(check, timeoutMs, everyMs)) === true;
}
