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
  const cache = {
    getOrLoad: async (_t: string, _k: string, load: () => Promise<CachedPage | null>) => ({
      value: await load(),
      status: 'MISS',
    }),
  } as unknown as TieredCache<CachedPage>;
  const metrics = { search: jest.fn() } as unknown as SearchMetrics;
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
