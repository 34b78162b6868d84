import type { TieredCache } from '@libs/cache';
import { Database, DatabaseTimeoutError, DatabaseUnavailableError } from '@libs/database';
import { mapError } from '@app/errors/all-exceptions.filter';
import { testConfig } from '@app/config';
import { SearchTimeoutError } from './search.errors';
import type { SearchMetrics } from './search.metrics';
import type { EmbeddingsService } from './embeddings/embeddings.service';
import type { VectorIndex } from './embeddings/vector-index';
import type { SearchRepository } from './search.repository';
import { CachedPage, SearchService } from './search.service';

/** A result cache that always misses, and metrics that count nothing: what both describes below share. */
const cache = {
  getOrLoad: async (_t: string, _k: string, load: () => Promise<CachedPage | null>) => ({
    value: await load(),
    status: 'MISS',
  }),
} as unknown as TieredCache<CachedPage>;
const metrics = { search: jest.fn() } as unknown as SearchMetrics;

/** The timeout seam: whatever the adapter, a search over its bound is a 503 SEARCH_TIMEOUT, never a 500. */
describe('SearchService statement bound', () => {
  const config = testConfig({ SEARCH_STATEMENT_TIMEOUT_MS: '1234' });
  const bounds: number[] = [];
  const db = {
    withStatementTimeout: <T>(ms: number, fn: () => Promise<T>) => {
      bounds.push(ms);
      return fn();
    },
  } as unknown as Database;
  const service = (search: () => Promise<never>) =>
    new SearchService(
      {
        storeKey: async () => ({ id: 'store-id', version: '1' }),
        storeSettings: async () => ({}), // a store without synonyms or stop words
        analyse: search, // the first statement of a search on the words
      } as unknown as SearchRepository,
      metrics,
      cache,
      db,
      config,
      { model: undefined } as unknown as EmbeddingsService, // EMBEDDINGS_PROVIDER=off: lexical
      {} as unknown as VectorIndex,
    );
  const req = { store: 'kb', query: 'heavy', limit: 10, offset: 0, group: 'documents' as const };

  it.each([
    [
      'a statement over its bound (pg 57014 or the PGlite worker killed)',
      new DatabaseTimeoutError('pg', 1234),
    ],
    [
      'a wait for the PGlite session longer than the bound',
      new DatabaseTimeoutError('pglite', 1234, 'queue'),
    ],
  ])('maps %s to 503 SEARCH_TIMEOUT', async (_label, error) => {
    const err = await service(() => Promise.reject(error))
      .search('demo', req)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SearchTimeoutError);
    expect(bounds.at(-1)).toBe(1234);
    const { body, headers } = mapError(err, 'req-1');
    expect(body).toMatchObject({ statusCode: 503, code: 'SEARCH_TIMEOUT', requestId: 'req-1' });
    expect(headers['Retry-After']).toBe('1');
  });

  it('leaves other errors alone', async () => {
    const boom = new Error('boom');
    await expect(service(() => Promise.reject(boom)).search('demo', req)).rejects.toBe(boom);
  });
});

describe('database errors outside a search', () => {
  it.each([
    ['a statement over its bound', new DatabaseTimeoutError('pglite', 15000), 'DATABASE_TIMEOUT'],
    [
      'a worker restarting',
      new DatabaseUnavailableError('the database worker stopped'),
      'DATABASE_UNAVAILABLE',
    ],
  ])('%s is a retryable 503 that says nothing about the SQL', (_label, error, code) => {
    const { body, headers } = mapError(error, 'req-2');
    expect(body).toMatchObject({ statusCode: 503, code, error: 'Service Unavailable' });
    expect(body.message).not.toMatch(/worker|statement|ms/);
    expect(headers['Retry-After']).toBe('1');
  });
});

/**
 * Issue 22: a cold hybrid query costs about the longer of its two rankings, not their sum — the question's
 * embedding is in flight while the words are analysed and ranked lexically.
 */
describe('SearchService hybrid: the question embedded while the lexical ranking runs', () => {
  const config = testConfig({});
  const db = { withStatementTimeout: <T>(_ms: number, fn: () => Promise<T>) => fn() } as unknown as Database;
  const store = {
    id: 'store-id',
    version: '1',
    documents: 1,
    totalTerms: 10,
    embeddingCounts: { version: '1', model: 'm', pending: 0, embedded: 1 },
  };
  const analysis = {
    results: [{ lexemes: [{ lexeme: 'heavi', position: 1, known: true }], typos: [], prefixes: [] }],
    surfaceWords: [],
  };
  const noMatch = { documents: 1, totalTerms: 10, postings: [], excluded: [], phrases: [], proximity: [] };
  const build = (
    repository: Partial<SearchRepository>,
    embedQuery: () => Promise<number[]>,
    vectors: Partial<VectorIndex> = {},
  ) =>
    new SearchService(
      {
        storeKey: async () => store,
        storeSettings: async () => ({}),
        // an empty page: no passages or chunks to read
        passages: async () => new Map(),
        chunks: async () => new Map(),
        ...repository,
      } as unknown as SearchRepository,
      metrics,
      cache,
      db,
      config,
      { model: 'm', embedQuery } as unknown as EmbeddingsService,
      { nearest: async () => [], documents: async () => ({}), ...vectors } as unknown as VectorIndex,
    );
  const req = {
    store: 'kb',
    query: 'heavy',
    limit: 10,
    offset: 0,
    group: 'documents' as const,
    mode: 'hybrid' as const,
  };
  /** A promise and the function that settles it. */
  const signal = () => {
    let fire!: () => void;
    const fired = new Promise<void>((resolve) => (fire = resolve));
    return { fire, fired };
  };

  it('each side waits for the other to have started, and the search still finishes (no hang)', async () => {
    // The lexical match answers only once the embedding has started, the embedding only once the match
    // has: run one after the other, the two would wait for each other for ever.
    const embedding = signal();
    const matching = signal();
    const service = build(
      {
        analyse: async () => analysis,
        match: async () => {
          matching.fire();
          await embedding.fired;
          return noMatch;
        },
      },
      async () => {
        embedding.fire();
        await matching.fired;
        return [1, 0];
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the two rankings ran one after the other')), 5000);
    });
    try {
      const res = await Promise.race([service.search('demo', req), hang]);
      expect(res).toMatchObject({ mode: 'hybrid', total: 0, results: [] });
    } finally {
      clearTimeout(timer);
    }
  });

  it("the phrases' and exclusions' documents are looked up while the question is embedded (no hang)", async () => {
    const embedding = signal();
    const looking = signal();
    const service = build(
      { analyse: async () => analysis, match: async () => noMatch },
      async () => {
        embedding.fire();
        await looking.fired;
        return [1, 0];
      },
      {
        documents: async () => {
          looking.fire();
          await embedding.fired;
          return {};
        },
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the lookup waited for the embedding')), 5000);
    });
    try {
      const res = await Promise.race([service.search('demo', { ...req, query: '"heavy load"' }), hang]);
      expect(res).toMatchObject({ mode: 'hybrid', results: [] });
    } finally {
      clearTimeout(timer);
    }
  });

  it('a failing analysis is the error, and the embedding failing after it is not left unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const late = signal();
      const boom = new Error('analysis failed');
      const service = build(
        {
          analyse: async () => {
            throw boom;
          },
        },
        async () => {
          await late.fired;
          throw new Error('embedding failed too');
        },
      );
      await expect(service.search('demo', req)).rejects.toBe(boom);
      late.fire();
      // two turns of the event loop: an unhandled rejection is reported after the microtask queue drains
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
