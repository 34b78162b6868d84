import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { CacheStatus, InjectTieredCache, TieredCache } from '@libs/cache';
import { SearchResponse, SearchResultItem } from './dto/search.dto';
import { StoreNotFoundError } from './search.errors';
import { SearchCacheLabel, SearchMetrics } from './search.metrics';
import { SearchRepository } from './search.repository';
import { HEADLINE_OPTIONS, normaliseQuery, renderSnippet } from './snippet';

export const SEARCH_CACHE_NAMESPACE = 'search';

/** What is cached per (tenant, store id, version, query, page). */
export interface CachedPage {
  total: number;
  results: SearchResultItem[];
}

export interface SearchRequest {
  store: string;
  query: string;
  limit: number;
  offset: number;
}

const LABEL: Record<CacheStatus, SearchCacheLabel> = {
  HIT: 'hit',
  // A version-keyed entry is never outdated, only old; serving it is a hit.
  STALE: 'hit',
  MISS: 'miss',
  BYPASS: 'bypass',
};

@Injectable()
export class SearchService {
  constructor(
    private readonly repository: SearchRepository,
    private readonly metrics: SearchMetrics,
    @InjectTieredCache(SEARCH_CACHE_NAMESPACE) private readonly cache: TieredCache<CachedPage>,
  ) {}

  /**
   * The cache key holds the store's id and version: every upload or delete bumps the version in its own
   * transaction, so old pages become unreachable at once on every replica (and a store deleted and
   * created again under the same name never sees the old one's pages). The tenant is added by the cache.
   */
  cacheKey(
    storeName: string,
    storeId: string,
    version: string,
    query: string,
    limit: number,
    offset: number,
  ): string {
    const digest = createHash('sha256').update(normaliseQuery(query)).digest('base64url');
    return `${storeName}:${storeId}:v${version}:${limit}:${offset}:${digest}`;
  }

  /** Through the result cache; on the search routes, no-cache and X-Cache are the CacheInterceptor's. */
  async search(tenantId: string, req: SearchRequest): Promise<SearchResponse> {
    const started = process.hrtime.bigint();
    let label: SearchCacheLabel = this.cache.bypassed ? 'bypass' : 'miss';
    try {
      const store = await this.repository.storeKey(tenantId, req.store);
      if (!store) throw new StoreNotFoundError(req.store);
      const key = this.cacheKey(req.store, store.id, store.version, req.query, req.limit, req.offset);
      const { value, status } = await this.cache.getOrLoad(tenantId, key, async () => {
        const { total, hits } = await this.repository.search(
          store.id,
          req.query,
          req.limit,
          req.offset,
          HEADLINE_OPTIONS,
        );
        return {
          total,
          results: hits.map((h) => ({
            documentId: h.documentId,
            filename: h.filename,
            chunkIndex: h.chunkIndex,
            score: Math.round(h.score * 1e6) / 1e6,
            snippet: renderSnippet(h.headline),
          })),
        };
      });
      label = LABEL[status];
      const page = value ?? { total: 0, results: [] };
      const tookMs = Number(process.hrtime.bigint() - started) / 1e6;
      this.metrics.search('success', label, tookMs / 1000, page.results.length);
      return {
        store: req.store,
        query: req.query,
        total: page.total,
        tookMs: Math.round(tookMs * 100) / 100,
        results: page.results,
      };
    } catch (err) {
      this.metrics.search('error', label, Number(process.hrtime.bigint() - started) / 1e9);
      throw err;
    }
  }
}
