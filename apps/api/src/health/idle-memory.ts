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
 * time makes V8 install `gc` in the next context created, and a vm context is one.
 */
export function collectGarbageReducingMemory(): boolean {
  if (gcFunction === undefined) {
    try {
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

/** What one check did (tests read it). */
export type IdleCheck = 'busy' | 'unchanged' | 'collected' | 'unavailable';

/** The event loop was busy at most this share of the interval: probes and scrapes fit, traffic does not. */
const IDLE_UTILISATION = 0.02;
/** RSS growth since the last collection that makes another one worth its pause. */
const GROWTH_BYTES = 16 * 1024 * 1024;
/** The first check comes this soon after start-up (or the interval, when shorter). */
const FIRST_CHECK_MS = 3000;

/**
 * Gives idle memory back. Start-up (Nest's module graph, the OpenAPI document, class-validator metadata)
 * and every burst of traffic grow V8's young generation to its maximum and leave garbage V8 keeps mapped:
 * about 50 MB of an idle process's RSS. Every MEMORY_IDLE_GC_INTERVAL_MS this looks at how busy the event
 * loop was since the last look; when it was idle and RSS has grown since the last collection (or there
 * was none yet), it runs one memory-reducing GC (tens of ms, on an idle loop). Under traffic it does nothing,
 * so the hot path keeps its full-size young generation.
 */
@Injectable()
export class IdleMemoryReducer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Memory');
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private lastLook?: EventLoopUtilization;
  /** RSS right after the last collection; undefined until the first one. */
  private rssAfterCollection?: number;

  /** The collection (a field, so a test can watch it). */
  collect: () => boolean = collectGarbageReducingMemory;

  constructor(config: AppConfig) {
    this.intervalMs = config.health.idleGcIntervalMs;
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs <= 0) return;
    this.lastLook = performance.eventLoopUtilization();
    this.schedule(Math.min(FIRST_CHECK_MS, this.intervalMs));
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One look: collects when the loop was idle since the last look and memory grew. */
  check(): IdleCheck {
    const now = performance.eventLoopUtilization();
    const since = performance.eventLoopUtilization(now, this.lastLook);
    this.lastLook = now;
    if (since.utilization > IDLE_UTILISATION) return 'busy';
    const rss = process.memoryUsage.rss();
    if (this.rssAfterCollection !== undefined && rss < this.rssAfterCollection + GROWTH_BYTES)
      return 'unchanged';
    const started = performance.now();
    if (!this.collect()) return 'unavailable';
    this.rssAfterCollection = process.memoryUsage.rss();
    // the collection's own pause is not traffic
    this.lastLook = performance.eventLoopUtilization();
    this.logger.debug(
      `idle: RSS ${mb(rss)} → ${mb(this.rssAfterCollection)} MB after a memory-reducing GC of ${Math.round(performance.now() - started)} ms`,
    );
    return 'collected';
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      if (this.timer === undefined) return;
      if (this.check() === 'unavailable') return;
      this.schedule(this.intervalMs);
    }, ms);
    this.timer.unref();
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 1e6);
}
