import { Injectable } from '@nestjs/common';
import CachePolicy from 'http-cache-semantics';
import { createHash } from 'node:crypto';
import { InjectTieredCache, Loaded, TieredCache } from '@libs/cache';
import { AppConfig } from '@app/config';
import { acceptFor, DownloadFormat } from './formats';

export const DOWNLOAD_CACHE_NAMESPACE = 'download';
/** Converted bodies larger than this are not cached (the L1 LRU counts entries, not bytes). */
export const MAX_CACHED_BYTES = 2 * 1024 * 1024;
/** How long a stale entry with validators is kept for revalidation (If-None-Match / If-Modified-Since). */
const REVALIDATION_WINDOW_MS = 24 * 60 * 60 * 1000;

/** How a page's HTML was read (X-Atrium-Render): rendered in Chromium, as served, as served for want of one. */
export type RenderState = 'rendered' | 'static' | 'unavailable';

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
  render?: RenderState;
}

export interface Freshness {
  store: boolean;
  freshMs: number;
}

/**
 * The downloader's namespace of the tiered cache: tenant + format + URL, loaded through get-or-load
 * (concurrent identical downloads make one origin fetch). Whether an answer may be stored and how long it
 * stays fresh is http-cache-semantics' call (Cache-Control, Expires against Date, Age, Pragma, Vary, status),
 * as a shared cache: one entry serves every caller of a tenant, so `private` is not stored and `s-maxage` wins.
 * What Atrium's own code still does, because the library does not:
 * - the heuristic lifetime of an answer that states none: DOWNLOAD_CACHE_TTL_MS;
 * - directive names in any case (the library reads lower case only);
 * - Set-Cookie does not stop freshness (Atrium sends no cookies and passes none on), and a fresh
 *   must-revalidate answer is served (freshness from stale(), not satisfiesWithoutRevalidation());
 * - the key: Atrium's requests for one key are identical in every header a Vary can name except the
 *   per-request X-Request-ID, so only `Vary: *` (never fresh, which the library says) matters;
 * - entries with validators are kept a day past their freshness, so a stale copy is revalidated with a
 *   conditional request (304 → reuse) instead of downloaded and converted again.
 */
@Injectable()
export class DownloadCache {
  constructor(
    @InjectTieredCache(DOWNLOAD_CACHE_NAMESPACE) readonly cache: TieredCache<CachedDownload>,
    private readonly config: AppConfig,
  ) {}

  /** `variant`: the read options that change the answer (readVariant), empty for the defaults. */
  key(format: DownloadFormat, url: string, variant = ''): string {
    return createHash('sha256')
      .update(variant ? `${format} ${url} ${variant}` : `${format} ${url}`)
      .digest('base64url');
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

  /**
   * What the origin's answer allows, judged by http-cache-semantics as a shared cache: storable(), then fresh
   * for its lifetime (maxAge) less its age (the Age header plus the time since it arrived).
   * `status` is the stored response's; for a 304, `headers` are the 304's (they update the stored response).
   */
  freshness(format: DownloadFormat, status: number, headers: Record<string, string>): Freshness {
    // the request as the key knows it: the Accept of the format (Atrium's other request headers never vary)
    const request = { method: 'GET', headers: { accept: acceptFor(format) } };
    const policy = new CachePolicy(request, { status, headers: this.asStated(headers) }, { shared: true });
    if (!policy.storable()) return { store: false, freshMs: 0 };
    // stale() rather than satisfiesWithoutRevalidation(request): since 4.2.0 that one sends even a fresh
    // must-revalidate answer back to the origin (kornelski/http-cache-semantics#54, RFC 9111 §5.2.2.2 asks it
    // only of stale ones), and for the identical next request it adds nothing else
    if (policy.stale()) return { store: true, freshMs: 0 };
    return { store: true, freshMs: Math.max(0, Math.round((policy.maxAge() - policy.age()) * 1000)) };
  }

  /** The origin's headers as the library should read them, for Atrium's three reasons. */
  private asStated(origin: Record<string, string>): Record<string, string> {
    // Atrium sends no cookies and passes none on, so the page is the anonymous one every caller gets: the
    // library's shared-cache rule (no freshness for a response that sets a cookie) is for proxies that replay it
    const { 'set-cookie': _cookie, ...headers } = origin;
    // RFC 9111 §5.2: directive names are case-insensitive; the library matches lower case only
    if (headers['cache-control']) headers['cache-control'] = headers['cache-control'].toLowerCase();
    // RFC 9111 §4.2.2: a response that states no lifetime gets the cache's heuristic one; Atrium's is
    // DOWNLOAD_CACHE_TTL_MS (not the library's 10 % of the time since Last-Modified), given as the Expires
    // the origin did not send: max-age and s-maxage still win over it, no-cache, Vary: * and the rest still apply
    if (headers.expires === undefined) {
      const date = Date.parse(headers.date ?? '');
      const base = Number.isFinite(date) ? date : Math.floor(Date.now() / 1000) * 1000;
      headers.date ??= new Date(base).toUTCString(); // HTTP dates count whole seconds: base and expiry agree
      headers.expires = new Date(
        base + Math.ceil(this.config.downloader.cacheTtlMs / 1000) * 1000,
      ).toUTCString();
    }
    return headers;
  }
}
