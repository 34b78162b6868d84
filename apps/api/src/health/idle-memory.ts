import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventLoopUtilization, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AppConfig } from '@app/config';

type GcOptions = { type: 'major'; execution: 'sync'; flavor: 'last-resort' };
let gcFunction: ((options: GcOptions) => void) | null | undefined;

/**
 * One full, memory-reducing garbage collection: V8's "last resort" flavour, which also shrinks the young
 * generation and hands free pages back to the system (an ordinary major GC keeps both). Answers false where
 * the runtime does not offer it. V8 exposes its collector only behind --expose-gc; setting that flag at run
 * time makes V8 install `gc` in the next context created, and a vm context is one. Compiled WebAssembly
 * (undici's HTTP parser) is kept: V8 would otherwise flush it and recompile on the next use.
 */
export function collectGarbageReducingMemory(): boolean {
  if (gcFunction === undefined) {
    try {
      setFlagsFromString('--no-flush-liftoff-code');
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
      gcFunction = typeof gc === 'function' ? (gc as (options: GcOptions) => void) : null;
    } catch {
      gcFunction = null;
    }
  }
  if (!gcFunction) return false;
  gcFunction({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return true;
}

/** What one window did (tests read it). */
export type IdleStep = 'busy' | 'idling' | 'unchanged' | 'collected' | 'unavailable';

/** The length of one look at the event loop. */
export const WINDOW_MS = 1000;
/** A window counts as idle when the loop was busy at most this share of it: a probe or a scrape fits. */
const IDLE_UTILISATION = 0.02;
/** RSS growth since the last collection that makes another one worth its pause. */
const GROWTH_BYTES = 16 * 1024 * 1024;
/** The first collection may come after this much idle time from start-up (or the interval, when shorter). */
const FIRST_IDLE_MS = 3000;

/**
 * Gives idle memory back. Start-up (Nest's module graph, the OpenAPI document, class-validator metadata)
 * and every burst of traffic grow V8's young generation to its maximum and leave garbage V8 keeps mapped:
 * about 50 MB of an idle process's RSS. Once a second this reads how busy the event loop was; after
 * MEMORY_IDLE_GC_INTERVAL_MS of consecutive idle seconds (3 s after start-up), and only when RSS grew 16 MB
 * since its last collection (or there was none yet), it runs one memory-reducing GC — tens of ms, which a
 * request arriving at that moment waits for. A second with traffic starts the count again, so a loaded
 * process never collects this way and keeps its full-size young generation.
 */
@Injectable()
export class IdleMemoryReducer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Memory');
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private lastLook?: EventLoopUtilization;
  private idleMs = 0;
  private neededIdleMs: number;
  /** RSS right after the last collection; undefined until the first one. */
  private rssAfterCollection?: number;

  /** The collection and the RSS reading (fields, so a test can stand in for them). */
  collect: () => boolean = collectGarbageReducingMemory;
  rss: () => number = () => process.memoryUsage.rss();

  constructor(config: AppConfig) {
    this.intervalMs = config.health.idleGcIntervalMs;
    this.neededIdleMs = Math.min(FIRST_IDLE_MS, this.intervalMs);
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs <= 0) return;
    this.lastLook = performance.eventLoopUtilization();
    this.timer = setInterval(() => {
      try {
        const now = performance.eventLoopUtilization();
        const busy = performance.eventLoopUtilization(now, this.lastLook).utilization;
        this.lastLook = now;
        if (this.step(busy) === 'unavailable') this.onApplicationShutdown();
      } catch (err) {
        // never let housekeeping take the process down
        this.logger.warn(`idle memory check failed: ${(err as Error).message}`);
      }
    }, WINDOW_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One window in which the loop was busy `utilisation` (0..1) of the time. */
  step(utilisation: number): IdleStep {
    if (utilisation > IDLE_UTILISATION) {
      this.idleMs = 0;
      return 'busy';
    }
    this.idleMs += WINDOW_MS;
    if (this.idleMs < this.neededIdleMs) return 'idling';
    this.idleMs = 0;
    this.neededIdleMs = this.intervalMs;
    const rss = this.rss();
    if (this.rssAfterCollection !== undefined && rss < this.rssAfterCollection + GROWTH_BYTES)
      return 'unchanged';
    const started = performance.now();
    if (!this.collect()) return 'unavailable';
    this.rssAfterCollection = this.rss();
    // the collection's own pause is not traffic
    this.lastLook = performance.eventLoopUtilization();
    this.logger.debug(
      `idle: RSS ${mb(rss)} → ${mb(this.rssAfterCollection)} MB after a memory-reducing GC of ${Math.round(performance.now() - started)} ms`,
    );
    return 'collected';
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 1e6);
}
