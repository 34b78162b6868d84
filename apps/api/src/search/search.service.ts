import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { CacheStatus, InjectTieredCache, TieredCache } from '@libs/cache';
import { Database, DatabaseTimeoutError } from '@libs/database';
import { AppConfig } from '@app/config';
import { ValidationFailedError } from '@app/validation';
import { SearchGroup, SearchMatching, SearchMode, SearchResponse, SearchResultItem } from './dto/search.dto';
import { EmbeddingFailedError } from './embeddings/embedding-provider';
import { SemanticFilter, SemanticHit } from './embeddings/embedding.repository';
import { EmbeddingsService } from './embeddings/embeddings.service';
import { VectorIndex, VectorStoreRef } from './embeddings/vector-index';
import { hybridFusion } from './query/fusion';
import { analysisRequests, buildPlan, QueryPlan } from './query/query-plan';
import { parseQuery, ParsedQuery } from './query/query-parser';
import { EmbeddingsUnavailableError, SearchTimeoutError, StoreNotFoundError } from './search.errors';
import { SearchCacheLabel, SearchMetrics } from './search.metrics';
import { RankedDocument, rankChunks, rankDocuments, Ranking } from './query/ranking';
import { SearchRepository, StoreKey, StoreTotals } from './search.repository';
import { normaliseQuery, renderPassage } from './snippet';
import { FilterNode, parseFilter } from './filter/filter-parser';
import { facetCounts, sortByMetadata, SortSpec } from './filter/filter-queries';
import { applySettings, readSettings } from './store-settings';

export const SEARCH_CACHE_NAMESPACE = 'search';

/** What is cached per (tenant, store id, version, mode, query, page). */
export interface CachedPage {
  total: number;
  matching: SearchMatching;
  results: SearchResultItem[];
  facets?: Record<string, Record<string, number>>;
}

/** Chunks the semantic side ranks by cosine (then grouped by document): the fusion's depth. */
const SEMANTIC_CANDIDATES = 200;

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
  /** Absent: hybrid when every passage of the store is embedded, else lexical. */
  mode?: SearchMode;
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
    private readonly embeddings: EmbeddingsService,
    private readonly vectors: VectorIndex,
  ) {}

  /**
   * The cache key holds the store's id and version: every upload or delete bumps the version in its own
   * transaction, so old pages become unreachable at once on every replica (and a store deleted and
   * created again under the same name never sees the old one's pages). The tenant is added by the cache.
   * `variant`: the mode that runs, and for semantic and hybrid the model and the store's passages still
   * waiting for it (embedding in the background changes results without a new version).
   */
  cacheKey(store: { id: string; version: string }, req: SearchRequest, variant = 'lexical'): string {
    const digest = createHash('sha256').update(normaliseQuery(req.query)).digest('base64url');
    const { filter, facets, sort } = req;
    const base = `${req.store}:${store.id}:v${store.version}:${variant}:${req.limit}:${req.offset}:${req.group}:${digest}`;
    if (filter === undefined && !facets?.length && !sort) return base;
    // the filter as typed (the same expression in other spacing is another entry: cheap, never wrong)
    const extra = createHash('sha256')
      .update(JSON.stringify([filter ?? null, facets ?? [], sort ? `${sort.key}:${sort.direction}` : null]))
      .digest('base64url');
    return `${base}:${extra}`;
  }

  /**
   * The mode that runs, and its cache-key variant: lexical when asked, or when no passage vector can be
   * compared (EMBEDDINGS_PROVIDER=off: asking for another mode is 400); without a mode, hybrid once every
   * published passage of the store is embedded by the configured model, on a store of at most
   * EMBEDDINGS_DEFAULT_HYBRID_MAX_PASSAGES of them.
   */
  private async modeFor(
    store: StoreKey,
    asked?: SearchMode,
  ): Promise<{ mode: SearchMode; variant: string; embedded: number }> {
    if (asked === 'lexical') return { mode: 'lexical', variant: 'lexical', embedded: 0 };
    const model = this.embeddings.model;
    if (!model) {
      if (asked)
        throw new ValidationFailedError({
          mode: [`mode=${asked} needs embeddings, and EMBEDDINGS_PROVIDER is off on this server`],
        });
      return { mode: 'lexical', variant: 'lexical', embedded: 0 };
    }
    // the progress the store row holds for this version and model (a cache hit counts nothing), else counted
    const recorded = store.embeddingCounts;
    const counts =
      recorded && recorded.version === store.version && recorded.model === model
        ? recorded
        : await this.embeddings.repository.refreshCounts(store.id, model);
    const pending = Number(counts?.pending ?? 0);
    const embedded = Number(counts?.embedded ?? 0);
    let mode: SearchMode = asked ?? (pending === 0 ? 'hybrid' : 'lexical');
    // without a mode, a store over EMBEDDINGS_DEFAULT_HYBRID_MAX_PASSAGES searches lexically
    if (!asked && mode === 'hybrid' && embedded > this.config.embeddings.defaultHybridMaxPassages)
      mode = 'lexical';
    return { mode, variant: mode === 'lexical' ? mode : `${mode}:${model}:${pending}`, embedded };
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
      const { mode, variant, embedded } = await this.modeFor(store, req.mode);
      const key = this.cacheKey(store, req, variant);
      const { value, status } = await this.cache.getOrLoad(tenantId, key, () =>
        this.load(tenantId, { ...store, embedded }, parsed, req, mode, filter),
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
        mode,
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
   * completions), then per mode the lexical ranking (postings and chunk signals, query/ranking.ts), the
   * semantic one (the query's vector against the passages', in the vector index's child), or both fused
   * (hybrid: query/fusion.ts), grouped by document unless group=chunks; the page's passages rendered as HTML-safe snippets.
   */
  private async load(
    tenantId: string,
    store: VectorStoreRef & StoreTotals,
    parsed: ParsedQuery,
    req: SearchRequest,
    mode: SearchMode,
    filter?: FilterNode,
  ): Promise<CachedPage> {
    const storeId = store.id;
    // The question's vector depends on its words alone: embedding it (the embedding child, or the provider's
    // endpoint) starts now and overlaps the word analysis and the lexical ranking, so a cold hybrid query
    // costs about the longer of the two rather than their sum.
    const queryVector = mode === 'lexical' ? undefined : this.queryVector(tenantId, parsed);
    // awaited below; should the analysis fail first, its rejection must not go unhandled
    void queryVector?.catch(() => undefined);
    // the store's synonyms and stop words (store-settings.ts); changing them moves the version, so the key
    const settings = readSettings(await this.repository.storeSettings(storeId));
    const query = applySettings(parsed, settings);
    const { requests, index } = analysisRequests(query);
    const analysis = await this.repository.analyse(storeId, requests);
    const plan = buildPlan(query, analysis.results, index);
    const highlight = new Set([
      ...analysis.surfaceWords,
      ...plan.expansionWords,
      ...plan.units.filter((u) => u.tokens.length > 1).map((u) => u.tokens.join('')),
    ]);
    // the two rankings are independent: lexical in the database, semantic in the vector index's child
    const [lexical, semantic] = await Promise.all([
      mode === 'semantic' ? undefined : this.lexical(store, plan, req, filter),
      queryVector && this.semantic(tenantId, store, queryVector, plan, filter),
    ]);
    const terms = (units: number[]) => units.map((u) => plan.units[u].text);
    const matching = lexical?.relaxed ? 'relaxed' : 'all';

    const lexicalDocs = new Map((lexical?.documents ?? []).map((d) => [d.documentId, d]));
    // a document's best passage by cosine (hits come most similar first)
    const similarDocs = new Map<string, SemanticHit>();
    for (const h of semantic ?? []) if (!similarDocs.has(h.documentId)) similarDocs.set(h.documentId, h);
    // facets count the whole match set; a sort orders it by metadata, relevance breaking ties
    const matched = [...new Set([...lexicalDocs.keys(), ...similarDocs.keys()])];
    const facets = req.facets?.length ? await facetCounts(this.db, req.facets, matched) : undefined;
    const order = req.sort && matched.length ? await sortByMetadata(this.db, matched, req.sort) : undefined;
    const position = order ? new Map(order.map((id, i) => [id, i])) : undefined;
    const byPosition = (a: string, b: string) =>
      (position?.get(a) ?? Infinity) - (position?.get(b) ?? Infinity);

    if (req.group === 'chunks') {
      const lexicalChunks = lexical ? await this.lexicalChunks(storeId, plan, lexical.documents) : [];
      const units = new Map(lexicalChunks.map((c) => [`${c.documentId}:${c.chunkIndex}`, c]));
      const similar = new Map((semantic ?? []).map((h) => [`${h.documentId}:${h.chunkIndex}`, h]));
      const ranked = fuse(
        mode,
        [...units.keys()],
        [...similar.keys()],
        (k) => units.get(k),
        (k) => similar.get(k)?.similarity,
      ).map((r) => {
        const [documentId, chunkIndex] = r.key.split(':');
        return { ...r, documentId, chunkIndex: Number(chunkIndex) };
      });
      if (position) ranked.sort((a, b) => byPosition(a.documentId, b.documentId)); // stable: score order kept
      const page = ranked.slice(req.offset, req.offset + req.limit);
      const contents = await this.repository.chunks(page);
      return {
        total: ranked.length,
        matching,
        facets,
        results: page.map((c) => {
          const chunk = contents.get(c.key);
          const hit = similar.get(c.key);
          return {
            // the public id: a replaced document keeps it while its row (c.documentId) is new
            documentId: chunk?.publicId ?? c.documentId,
            filename: chunk?.filename ?? '',
            score: round(c.score),
            matchedTerms: terms(units.get(c.key)?.units ?? []),
            snippets: chunk ? [renderPassage(chunk.content, highlight).html] : [],
            chunkIndex: c.chunkIndex,
            metadata: chunk?.metadata ?? {},
            ...(hit && { similarity: round(hit.similarity) }),
          };
        }),
      };
    }

    const fused = fuse(
      mode,
      [...lexicalDocs.keys()],
      [...similarDocs.keys()],
      (k) => lexicalDocs.get(k),
      (k) => similarDocs.get(k)?.similarity,
    );
    const ranked = position ? [...fused].sort((a, b) => byPosition(a.key, b.key)) : fused;
    const page = ranked.slice(req.offset, req.offset + req.limit);
    const withTerms = page.filter((d) => lexicalDocs.has(d.key)).map((d) => d.key);
    // each document's most similar passage, where it has one: the snippet of those found by meaning only
    const nearestPassages = (keys: string[]) =>
      this.repository.chunks(
        keys.map((k) => similarDocs.get(k)).filter((h): h is SemanticHit => h !== undefined),
      );
    // the lexical documents' passages and the others' nearest passage: two independent statements
    const [passages, byMeaning] = await Promise.all([
      this.repository.passages(plan, withTerms),
      nearestPassages(page.filter((d) => !lexicalDocs.has(d.key)).map((d) => d.key)),
    ]);
    // a lexical document without passages now (gone since it was ranked) keeps its nearest passage, if any
    const missing = withTerms.filter((k) => !passages.has(k));
    const chunks = missing.length ? new Map([...byMeaning, ...(await nearestPassages(missing))]) : byMeaning;
    return {
      total:
        mode === 'lexical'
          ? (lexical?.total ?? 0)
          : ranked.length + Math.max(0, (lexical?.total ?? 0) - lexicalDocs.size),
      matching,
      facets,
      results: page.map((d) => {
        const doc = passages.get(d.key);
        const hit = similarDocs.get(d.key);
        const chunk = hit && !doc ? chunks.get(`${hit.documentId}:${hit.chunkIndex}`) : undefined;
        return {
          documentId: doc?.publicId ?? chunk?.publicId ?? d.key,
          filename: doc?.filename ?? chunk?.filename ?? '',
          score: round(d.score),
          matchedTerms: terms(lexicalDocs.get(d.key)?.units ?? []),
          snippets: doc
            ? snippets(doc.passages, highlight)
            : chunk
              ? [renderPassage(chunk.content, highlight).html]
              : [],
          chunkIndex: doc?.passages[0]?.chunkIndex ?? hit?.chunkIndex ?? 0,
          metadata: doc?.metadata ?? chunk?.metadata ?? {},
          ...(hit && { similarity: round(hit.similarity) }),
        };
      }),
    };
  }

  /**
   * The lexical ranking of every matching document (none for a query of stop words only); BM25's store totals
   * are those read with the store's key.
   */
  private async lexical(
    store: { id: string } & StoreTotals,
    plan: QueryPlan,
    req: SearchRequest,
    filter?: FilterNode,
  ): Promise<Ranking | undefined> {
    if (plan.groupCount === 0) return undefined; // stop words only
    // One group: which chunks say what was typed is only worth asking of the best documents (a rescore
    // window), not of every chunk holding a single common word.
    const rescore = plan.groupCount === 1 && plan.verbatim !== null;
    const rows = await this.repository.match(store, plan, { proximity: !rescore, filter });
    let ranking = rankDocuments(plan, rows, req.limit);
    if (rescore && ranking.total > 1) {
      const window = ranking.documents.slice(0, RESCORE_WINDOW).map((d) => d.documentId);
      rows.proximity = await this.repository.proximity(store.id, plan, window);
      ranking = rankDocuments(plan, rows, req.limit);
    }
    return ranking;
  }

  /** group=chunks: the matching chunks of the ranked documents, best first. */
  private async lexicalChunks(storeId: string, plan: QueryPlan, documents: RankedDocument[]) {
    const signals = await this.repository.chunkSignals(
      storeId,
      plan,
      documents.map((d) => d.documentId),
    );
    return rankChunks(plan, documents, signals);
  }

  /**
   * The query's words (not its operators, not the excluded terms) embedded through the cache; undefined
   * when there is nothing to embed (no model, or a query of operators only).
   */
  private async queryVector(tenantId: string, parsed: ParsedQuery): Promise<number[] | undefined> {
    if (!this.embeddings.model) return undefined;
    const text = parsed.groups
      .flat()
      .map((u) => u.text)
      .join(' ');
    if (!text.trim()) return undefined;
    try {
      return await this.embeddings.embedQuery(tenantId, text);
    } catch (err) {
      if (err instanceof EmbeddingFailedError) throw new EmbeddingsUnavailableError(err.message);
      throw err;
    }
  }

  /**
   * The store's passages nearest the query's vector by meaning, ranked by cosine in the vector index's child
   * (embeddings/vector-index.ts). Quoted phrases and exclusions keep their meaning: a document must hold the
   * phrases and none of the excluded terms; the metadata filter narrows hits by meaning as it narrows the
   * lexical match set.
   */
  private async semantic(
    tenantId: string,
    store: VectorStoreRef,
    queryVector: Promise<number[] | undefined>,
    plan: QueryPlan,
    filter?: FilterNode,
  ): Promise<SemanticHit[]> {
    // the documents the phrases and exclusions leave are found while the query is being embedded
    const [vector, documents] = await Promise.all([
      queryVector,
      this.vectors.documents(store.id, semanticFilter(plan)),
    ]);
    const model = this.embeddings.model;
    if (!vector || !model) return [];
    let hits: SemanticHit[];
    try {
      hits = await this.vectors.nearest(tenantId, store, model, vector, SEMANTIC_CANDIDATES, documents);
    } catch (err) {
      if (err instanceof EmbeddingFailedError) throw new EmbeddingsUnavailableError(err.message);
      throw err;
    }
    if (!hits.length || !filter) return hits;
    const kept = await this.repository.keepMatching(store.id, filter, [
      ...new Set(hits.map((h) => h.documentId)),
    ]);
    return hits.filter((h) => kept.has(h.documentId));
  }
}

/**
 * The ranking a mode returns: lexical and semantic as they are (a semantic result's score is its cosine
 * similarity, 0 when negative), hybrid fused (query/fusion.ts: lexical's first result kept first when it holds
 * every query term, the rest by reciprocal rank, k = 60; score 0–1).
 */
function fuse(
  mode: SearchMode,
  lexical: string[],
  semantic: string[],
  lexicalHit: (key: string) => { score: number; complete: boolean } | undefined,
  similarity: (key: string) => number | undefined,
): Array<{ key: string; score: number }> {
  if (mode === 'lexical') return lexical.map((key) => ({ key, score: lexicalHit(key)?.score ?? 0 }));
  if (mode === 'semantic') return semantic.map((key) => ({ key, score: Math.max(0, similarity(key) ?? 0) }));
  return hybridFusion(
    lexical.map((key) => ({ key, complete: lexicalHit(key)?.complete ?? false })),
    semantic,
  );
}

/** What of the query filters semantic hits: its phrases (required) and its exclusions. */
function semanticFilter(plan: QueryPlan): SemanticFilter {
  const required: string[] = [];
  for (let g = 0; g < plan.groupCount; g++) {
    const variants = plan.variants.filter((v) => v.group === g && !v.optional);
    if (!variants.some((v) => plan.units[v.unit]?.kind === 'phrase')) continue;
    required.push(`(${variants.map((v) => v.tsquery).join(' | ')})`);
  }
  return {
    requiredPhrases: required.length ? required.join(' & ') : null,
    excludedLexemes: plan.excludedLexemes,
    excludedPhrases: plan.excludedPhrases,
  };
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
