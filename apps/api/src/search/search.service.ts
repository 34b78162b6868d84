import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { CacheStatus, InjectTieredCache, TieredCache } from '@libs/cache';
import { Database, DatabaseTimeoutError } from '@libs/database';
import { AppConfig } from '@app/config';
import { SearchResponse, SearchResultItem } from './dto/search.dto';
import { SearchTimeoutError, StoreNotFoundError } from './search.errors';
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
    private readonly db: Database,
    private readonly config: AppConfig,
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

  /**
   * Every statement of a search runs under SEARCH_STATEMENT_TIMEOUT_MS (statement_timeout on Postgres,
   * the worker's external bound on PGlite); past it the search is a 503 SEARCH_TIMEOUT, never a 500.
   */
  async search(tenantId: string, req: SearchRequest): Promise<SearchResponse> {
    const timeoutMs = this.config.search.statementTimeoutMs;
    try {
      return await this.db.withStatementTimeout(timeoutMs, () => this.run(tenantId, req));
    } catch (err) {
      if (err instanceof DatabaseTimeoutError) throw new SearchTimeoutError(timeoutMs);
      throw err;
    }
  }

  /** Through the result cache; on the search routes, no-cache and X-Cache are the CacheInterceptor's. */
  private async run(tenantId: string, req: SearchRequest): Promise<SearchResponse> {
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
