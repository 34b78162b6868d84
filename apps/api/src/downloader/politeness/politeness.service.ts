import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '@app/config';
import { RedisMonitor } from '@app/redis';
import { DownloaderMetrics } from '../downloader.metrics';
import { HostGate, HostPermit, RedisHostBackend } from './host-gate';
import { RobotsService, RobotsVerdict } from './robots.service';

export interface TurnOptions {
  /** Whose request it is: a host's turns go round the tenants waiting for it. */
  tenant: string;
  signal?: AbortSignal;
  /** The request's own time limit: the slot's lease is this and a margin. */
  timeoutMs: number;
  onWait?: (waiting: boolean) => void;
}

/**
 * Good citizenship for every request the downloader makes for a tenant (downloads, batch URLs, crawl pages,
 * each redirect hop): robots.txt's word for the User-Agent, then the host's turn — DOWNLOAD_HOST_CONCURRENCY in
 * flight at most, Crawl-delay (or DOWNLOAD_HOST_DELAY_MS, whichever is longer) between starts, and whatever a
 * 429/503 Retry-After asked for — across tenants and, with Redis, across replicas.
 */
@Injectable()
export class Politeness implements OnApplicationShutdown {
  readonly gate: HostGate;
  private readonly redis?: Redis;

  constructor(
    private readonly config: AppConfig,
    readonly robots: RobotsService,
    metrics: DownloaderMetrics,
    monitor: RedisMonitor,
  ) {
    const c = config.downloader;
    if (config.redis.url)
      this.redis = monitor.watch(
        'host limits',
        // fail fast while Redis is away: the gate then counts on this replica alone
        new Redis(config.redis.url, {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          commandTimeout: 500,
          retryStrategy: (times) => Math.min(times * 200, 2000),
        }),
      );
    this.gate = new HostGate(
      c.hostConcurrency,
      c.hostMaxWaitMs,
      this.redis ? new RedisHostBackend(this.redis) : undefined,
      () => metrics.hostWaits.inc(),
    );
  }

  /** 403 ROBOTS_DISALLOWED when robots.txt disallows the URL (DOWNLOAD_ROBOTS=obey). */
  check(url: URL, signal?: AbortSignal): Promise<RobotsVerdict> {
    return this.robots.check(url, this.gate, signal);
  }

  /** robots.txt's word without the 403 and uncounted (crawls skip disallowed pages: robots.record counts them). */
  verdict(url: URL, signal?: AbortSignal): Promise<RobotsVerdict> {
    return this.robots.verdict(url, this.gate, signal);
  }

  /** The host's turn for one request to `url`, spaced by the verdict's Crawl-delay when it is longer. */
  turn(url: URL, verdict: RobotsVerdict | undefined, opts: TurnOptions): Promise<HostPermit> {
    return this.gate.acquire(url.host, {
      delayMs: Math.max(this.config.downloader.hostDelayMs, verdict?.crawlDelayMs ?? 0),
      leaseMs: opts.timeoutMs + 5000,
      tenant: opts.tenant,
      signal: opts.signal,
      onWait: opts.onWait,
    });
  }

  /** robots.txt, then the host's turn: each redirect hop. */
  async enter(url: URL, opts: TurnOptions): Promise<HostPermit> {
    const verdict = await this.check(url, opts.signal);
    return this.turn(url, verdict, opts);
  }

  onApplicationShutdown(): void {
    this.gate.close();
    this.redis?.disconnect();
  }
}
