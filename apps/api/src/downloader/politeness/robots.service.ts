import { Injectable, Logger } from '@nestjs/common';
import robotsParser from 'robots-parser';
import { InjectTieredCache, Loaded, TieredCache } from '@libs/cache';
import { redactUrl } from '@libs/observability';
import { AppConfig } from '@app/config';
import { DownloaderError, RobotsDisallowedError } from '../downloader.errors';
import { DownloaderMetrics } from '../downloader.metrics';
import { SafeFetcher } from '../fetch/safe-fetcher';
import type { HostGate } from './host-gate';

export const ROBOTS_CACHE_NAMESPACE = 'robots';
/** RFC 9309 §2.5: a crawler must read at least 500 KiB; more is not read (the file counts as unavailable). */
const ROBOTS_MAX_BYTES = 512 * 1024;
const ROBOTS_TIMEOUT_MS = 10_000;
/** An unreachable robots.txt is asked for again sooner than a good one. */
const UNREACHABLE_TTL_MS = 60_000;
/** Every host's entry is shared by all tenants: robots.txt is the site's word, not a tenant's. */
const ROBOTS_TENANT = '_hosts';

/** A host's robots.txt as cached: the text, none (4xx: everything allowed), or unreachable. */
export interface CachedRobots {
  status: 'ok' | 'none' | 'unreachable';
  body?: string;
}

export interface RobotsVerdict {
  result: 'allowed' | 'disallowed' | 'unavailable' | 'ignored';
  /** Crawl-delay for Atrium's group (ms), when robots.txt gives one. */
  crawlDelayMs?: number;
  /** Sitemap: lines (absolute URLs as written). */
  sitemaps: string[];
}

/**
 * robots.txt per host (scheme + host + port), parsed by robots-parser (RFC 9309 groups, longest match,
 * wildcards, Crawl-delay, Sitemap), fetched through the safe fetcher (URL policy on every hop, size and time
 * limits) at the host's politeness, and cached in the tiered cache for DOWNLOAD_ROBOTS_TTL_MS. Atrium's
 * own rules: a 4xx robots.txt allows everything (RFC 9309 §2.3.1.3); an unreachable one (5xx, network,
 * too large) lets the URL through as `unavailable` and is asked for again after a minute — a deliberate
 * deviation from §2.3.1.4 (complete disallow), so that a site's broken robots.txt does not make every
 * page of it a 403 for users.
 */
@Injectable()
export class RobotsService {
  private readonly logger = new Logger(RobotsService.name);
  /** The product token robots.txt groups are matched against (AtriumDownloader). */
  readonly agent: string;

  constructor(
    private readonly config: AppConfig,
    private readonly fetcher: SafeFetcher,
    private readonly metrics: DownloaderMetrics,
    @InjectTieredCache(ROBOTS_CACHE_NAMESPACE) private readonly cache: TieredCache<CachedRobots>,
  ) {
    this.agent = config.downloader.userAgent.split(/[/\s]/)[0];
  }

  get enabled(): boolean {
    return this.config.downloader.robots === 'obey';
  }

  /**
   * robots.txt's word on a URL; throws nothing for a disallow and counts nothing: a URL is counted in
   * download_robots_total once, by check() when it is fetched or by record() when a crawl skips it.
   */
  async verdict(url: URL, gate: HostGate, signal?: AbortSignal): Promise<RobotsVerdict> {
    if (!this.enabled) return { result: 'ignored', sitemaps: [] };
    const robotsUrl = new URL('/robots.txt', url.origin).href;
    const { value } = await this.cache.getOrLoad(ROBOTS_TENANT, url.origin, () =>
      this.load(robotsUrl, gate, signal),
    );
    const robots = value ?? { status: 'unreachable' };
    let verdict: RobotsVerdict;
    if (robots.status === 'ok') {
      const parsed = robotsParser(robotsUrl, robots.body ?? '');
      const delay = parsed.getCrawlDelay(this.agent);
      verdict = {
        result: parsed.isAllowed(url.href, this.agent) === false ? 'disallowed' : 'allowed',
        crawlDelayMs: delay !== undefined && Number.isFinite(delay) && delay > 0 ? delay * 1000 : undefined,
        sitemaps: parsed.getSitemaps(),
      };
    } else verdict = { result: robots.status === 'none' ? 'allowed' : 'unavailable', sitemaps: [] };
    return verdict;
  }

  /** Counts one URL's verdict in download_robots_total. */
  record(verdict: RobotsVerdict): void {
    this.metrics.robots.inc({ result: verdict.result === 'ignored' ? 'allowed' : verdict.result });
  }

  /** As verdict(), but a disallowed URL is 403 ROBOTS_DISALLOWED. */
  async check(url: URL, gate: HostGate, signal?: AbortSignal): Promise<RobotsVerdict> {
    const verdict = await this.verdict(url, gate, signal);
    this.record(verdict);
    if (verdict.result === 'disallowed')
      throw new RobotsDisallowedError(this.agent, new URL('/robots.txt', url.origin).href);
    return verdict;
  }

  private async load(robotsUrl: string, gate: HostGate, signal?: AbortSignal): Promise<Loaded<CachedRobots>> {
    const ttlMs = this.config.downloader.robotsTtlMs;
    const leaseMs = ROBOTS_TIMEOUT_MS + 5000;
    try {
      const res = await this.fetcher.fetch({
        url: robotsUrl,
        accept: 'text/plain, */*;q=0.5',
        timeoutMs: ROBOTS_TIMEOUT_MS,
        maxBytes: ROBOTS_MAX_BYTES,
        acceptAnyStatus: true,
        tenant: ROBOTS_TENANT,
        signal,
        // robots.txt waits for its host like any request (and is never judged by itself)
        gate: (u) =>
          gate.acquire(u.host, {
            delayMs: this.config.downloader.hostDelayMs,
            leaseMs,
            tenant: ROBOTS_TENANT,
            signal,
          }),
      });
      if (res.statusCode >= 200 && res.statusCode < 300)
        return new Loaded({ status: 'ok', body: res.body.toString('utf8') }, { ttlMs });
      if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429)
        return new Loaded({ status: 'none' }, { ttlMs });
      return new Loaded({ status: 'unreachable' }, { ttlMs: Math.min(ttlMs, UNREACHABLE_TTL_MS) });
    } catch (err) {
      if (signal?.aborted) throw err;
      // a host the URL policy refuses: the download itself is refused next (URL_BLOCKED), nothing to say here
      const refused = err instanceof DownloaderError && (err.status === 400 || err.status === 403);
      if (!refused)
        this.logger.warn(
          `robots.txt of ${redactUrl(robotsUrl)} could not be read (${err instanceof Error ? err.message : String(err)}); URLs of the host are allowed until it can`,
        );
      return new Loaded({ status: 'unreachable' }, { ttlMs: Math.min(ttlMs, UNREACHABLE_TTL_MS) });
    }
  }
}
