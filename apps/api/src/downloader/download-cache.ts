import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { InjectTieredCache, Loaded, TieredCache } from '@libs/cache';
import { AppConfig } from '@app/config';
import type { DownloadFormat } from './formats';

export const DOWNLOAD_CACHE_NAMESPACE = 'download';
/** Converted bodies larger than this are not cached (the L1 LRU counts entries, not bytes). */
export const MAX_CACHED_BYTES = 2 * 1024 * 1024;
/** How long a stale entry with validators is kept for revalidation (If-None-Match / If-Modified-Since). */
const REVALIDATION_WINDOW_MS = 24 * 60 * 60 * 1000;

/** A converted download as cached: the answer plus what is needed to revalidate it. */
export interface CachedDownload {
  body: string; // base64
  contentType: string;
  finalUrl: string;
  originalContentType: string;
  contentLength: number;
  statusCode: number;
  etag?: string;
  lastModified?: string;
}

export interface Freshness {
  store: boolean;
  freshMs: number;
}

/**
 * The downloader's namespace of the tiered cache: tenant + format + URL, loaded through get-or-load
 * (concurrent identical downloads make one origin fetch). Each entry's lifetime is the origin's
 * Cache-Control; entries with validators outlive their freshness, so a stale copy can be revalidated
 * with a conditional request (304 → reuse) instead of downloaded and converted again.
 */
@Injectable()
export class DownloadCache {
  constructor(
    @InjectTieredCache(DOWNLOAD_CACHE_NAMESPACE) readonly cache: TieredCache<CachedDownload>,
    private readonly config: AppConfig,
  ) {}

  key(format: DownloadFormat, url: string): string {
    return createHash('sha256').update(`${format} ${url}`).digest('base64url');
  }

  /** How long an entry stays fresh and is kept (validators: a day longer, for revalidation), or not stored. */
  entry(
    value: CachedDownload,
    freshness: Freshness,
    opts: { revalidated?: boolean } = {},
  ): Loaded<CachedDownload> {
    const keepMs =
      value.etag || value.lastModified ? freshness.freshMs + REVALIDATION_WINDOW_MS : freshness.freshMs;
    const store = freshness.store && Buffer.byteLength(value.body, 'base64') <= MAX_CACHED_BYTES;
    return new Loaded(value, { ttlMs: freshness.freshMs, keepMs, store, revalidated: opts.revalidated });
  }

  /** Cache-Control of the origin: no-store/private → not stored; s-maxage/max-age → fresh that long; else the default TTL. */
  freshness(headers: Record<string, string>): Freshness {
    const cc = (headers['cache-control'] ?? '').toLowerCase();
    if (/(^|,)\s*(no-store|private)\b/.test(cc)) return { store: false, freshMs: 0 };
    if (/(^|,)\s*no-cache\b/.test(cc)) return { store: true, freshMs: 0 };
    const age = /(?:^|,)\s*s-maxage\s*=\s*"?(\d+)/.exec(cc) ?? /(?:^|,)\s*max-age\s*=\s*"?(\d+)/.exec(cc);
    if (age) return { store: true, freshMs: Number(age[1]) * 1000 };
    return { store: true, freshMs: this.config.downloader.cacheTtlMs };
  }
}
