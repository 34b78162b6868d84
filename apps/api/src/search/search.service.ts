import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { CacheStatus, InjectTieredCache, TieredCache } from '@libs/cache';
import { Database, DatabaseTimeoutError } from '@libs/database';
import { AppConfig } from '@app/config';
import { SearchGroup, SearchMatching, SearchResponse, SearchResultItem } from './dto/search.dto';
import { analysisRequests, buildPlan } from './query/query-plan';
import { parseQuery } from './query/query-parser';
import { SearchTimeoutError, StoreNotFoundError } from './search.errors';
import { SearchCacheLabel, SearchMetrics } from './search.metrics';
import { rankChunks, rankDocuments } from './query/ranking';
import { SearchRepository } from './search.repository';
import { normaliseQuery, renderPassage } from './snippet';
import { FilterNode, parseFilter } from './filter/filter-parser';
import { facetCounts, sortByMetadata, SortSpec } from './filter/filter-queries';
import { Metadata } from './metadata/metadata';
import { applySettings, readSettings } from './store-settings';

export const SEARCH_CACHE_NAMESPACE = 'search';

/** What is cached per (tenant, store id, version, query, page). */
export interface CachedPage {
  total: number;
  matching: SearchMatching;
  results: SearchResultItem[];
  facets?: Record<string, Record<string, number>>;
}

export interface SearchRequest {
  store: string;
  query: string;
  limit: number;
  offset: number;
  /** One result per document (default) or per chunk. */
  group: SearchGroup;
  /** The metadata filter as given (filter/filter-parser.ts). */
  filter?: string;
  /** Metadata keys to count values of over the whole match set. */
  facets?: string[];
  /** A metadata key to order by instead of relevance. */
  sort?: SortSpec;
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
    group: SearchGroup = 'documents',
    narrowing: Pick<SearchRequest, 'filter' | 'facets' | 'sort'> = {},
  ): string {
    const digest = createHash('sha256').update(normaliseQuery(query)).digest('base64url');
    const { filter, facets, sort } = narrowing;
    if (filter === undefined && !facets?.length && !sort)
      return `${storeName}:${storeId}:v${version}:${limit}:${offset}:${group}:${digest}`;
    // the filter as typed (the same expression in other spacing is another entry: cheap, never wrong)
    const extra = createHash('sha256')
      .update(JSON.stringify([filter ?? null, facets ?? [], sort ? `${sort.key}:${sort.direction}` : null]))
      .digest('base64url');
    return `${storeName}:${storeId}:v${version}:${limit}:${offset}:${group}:${digest}:${extra}`;
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
      // A query that cannot be parsed is the client's mistake whatever the store: 400 before anything else.
      const parsed = parseQuery(req.query);
      const filter = req.filter === undefined ? undefined : parseFilter(req.filter);
      const store = await this.repository.storeKey(tenantId, req.store);
      if (!store) throw new StoreNotFoundError(req.store);
      const key = this.cacheKey(
        req.store,
        store.id,
        store.version,
        req.query,
        req.limit,
        req.offset,
        req.group,
        req,
      );
      const { value, status } = await this.cache.getOrLoad(tenantId, key, () =>
        this.load(store.id, parsed, req, filter),
      );
      label = LABEL[status];
      const page: CachedPage = value ?? { total: 0, matching: 'all', results: [] };
      const tookMs = Number(process.hrtime.bigint() - started) / 1e6;
      this.metrics.search('success', label, tookMs / 1000, page.results.length);
      return {
        store: req.store,
        query: req.query,
        total: page.total,
        tookMs: Math.round(tookMs * 100) / 100,
        matching: page.matching,
        results: page.results,
        ...(req.facets?.length ? { facets: page.facets ?? emptyFacets(req.facets) } : {}),
      };
    } catch (err) {
      this.metrics.search('error', label, Number(process.hrtime.bigint() - started) / 1e9);
      throw err;
    }
  }

  /**
   * Runs a parsed query against one store: what its words are to the store (lexemes, corrections,
   * completions), the matching postings and chunk signals, the ranking (query/ranking.ts), and the page's
   * passages rendered as HTML-safe snippets.
   */
  private async load(
    storeId: string,
    parsed: ReturnType<typeof parseQuery>,
    req: SearchRequest,
    filter?: FilterNode,
  ): Promise<CachedPage> {
    // the store's synonyms and stop words (store-settings.ts); changing them moves the version, so the key
    const settings = readSettings(await this.repository.storeSettings(storeId));
    const query = applySettings(parsed, settings);
    const { requests, index } = analysisRequests(query);
    const analysis = await this.repository.analyse(storeId, requests);
    const plan = buildPlan(query, analysis.results, index);
    if (plan.groupCount === 0) return { total: 0, matching: 'all', results: [] }; // stop words only
    // One group: which chunks say what was typed is only worth asking of the best documents (a rescore
    // window), not of every chunk holding a single common word.
    const rescore = plan.groupCount === 1 && plan.verbatim !== null;
    const rows = await this.repository.match(storeId, plan, { proximity: !rescore, filter });
    let ranking = rankDocuments(plan, rows, req.limit);
    if (rescore && ranking.total > 1) {
      const window = ranking.documents.slice(0, RESCORE_WINDOW).map((d) => d.documentId);
      rows.proximity = await this.repository.proximity(storeId, plan, window);
      ranking = rankDocuments(plan, rows, req.limit);
    }
    const highlight = new Set([
      ...analysis.surfaceWords,
      ...plan.expansionWords,
      ...plan.units.filter((u) => u.tokens.length > 1).map((u) => u.tokens.join('')),
    ]);
    const terms = (units: number[]) => units.map((u) => plan.units[u].text);
    const matching = ranking.relaxed ? 'relaxed' : 'all';
    // facets count the whole match set; a sort orders it by metadata, relevance breaking ties
    const matched = ranking.documents.map((d) => d.documentId);
    const facets = req.facets?.length ? await facetCounts(this.db, req.facets, matched) : undefined;
    const order = req.sort ? await sortByMetadata(this.db, matched, req.sort) : undefined;
    const position = order ? new Map(order.map((id, i) => [id, i])) : undefined;
    const byPosition = (a: string, b: string) =>
      (position?.get(a) ?? Infinity) - (position?.get(b) ?? Infinity);

    if (req.group === 'chunks') {
      const signals = await this.repository.chunkSignals(
        storeId,
        plan,
        ranking.documents.map((d) => d.documentId),
      );
      const chunks = rankChunks(plan, ranking.documents, signals);
      if (position) chunks.sort((a, b) => byPosition(a.documentId, b.documentId)); // stable: score order kept
      const page = chunks.slice(req.offset, req.offset + req.limit);
      const contents = page.length
        ? await this.repository.chunks(page)
        : new Map<string, { publicId: string; filename: string; metadata: Metadata; content: string }>();
      return {
        total: chunks.length,
        matching,
        facets,
        results: page.map((c) => {
          const chunk = contents.get(`${c.documentId}:${c.chunkIndex}`);
          return {
            // the public id: a replaced document keeps it while its row (c.documentId) is new
            documentId: chunk?.publicId ?? c.documentId,
            filename: chunk?.filename ?? '',
            score: round(c.score),
            matchedTerms: terms(c.units),
            snippets: chunk ? [renderPassage(chunk.content, highlight).html] : [],
            chunkIndex: c.chunkIndex,
            metadata: chunk?.metadata ?? {},
          };
        }),
      };
    }

    const ranked = position
      ? [...ranking.documents].sort((a, b) => byPosition(a.documentId, b.documentId))
      : ranking.documents;
    const page = ranked.slice(req.offset, req.offset + req.limit);
    const passages = page.length
      ? await this.repository.passages(
          plan,
          page.map((d) => d.documentId),
        )
      : new Map<
          string,
          {
            publicId: string;
            filename: string;
            metadata: Metadata;
            passages: Array<{ chunkIndex: number; content: string }>;
          }
        >();
    return {
      total: ranking.total,
      matching,
      facets,
      results: page.map((d) => {
        const doc = passages.get(d.documentId);
        return {
          documentId: doc?.publicId ?? d.documentId,
          filename: doc?.filename ?? '',
          score: round(d.score),
          matchedTerms: terms(d.units),
          snippets: snippets(doc?.passages ?? [], highlight),
          chunkIndex: doc?.passages[0]?.chunkIndex ?? 0,
          metadata: doc?.metadata ?? {},
        };
      }),
    };
  }
}

/** Documents whose chunks are asked for the typed words when the query has one group. */
const RESCORE_WINDOW = 100;

function emptyFacets(keys: string[]): Record<string, Record<string, number>> {
  return Object.fromEntries(keys.map((k) => [k, {}]));
}

function round(score: number): number {
  return Math.round(score * 1e6) / 1e6;
}

/** The best passage's snippet, and the second's when it shows a matched word the first does not. */
function snippets(passages: Array<{ content: string }>, highlight: ReadonlySet<string>): string[] {
  const [first, second] = passages.map((p) => renderPassage(p.content, highlight));
  if (!first) return [];
  if (second && [...second.hits].some((w) => !first.hits.has(w))) return [first.html, second.html];
  return [first.html];
}
