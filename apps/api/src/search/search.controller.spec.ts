import { Global, Module } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { FastifyInstance } from 'fastify';
import { routeCacheScope } from '@libs/cache';
import { Registry } from 'prom-client';
import { AuthModule } from '@app/auth/auth.module';
import { AllExceptionsFilter } from '@app/errors/all-exceptions.filter';
import { createValidationPipe } from '@app/validation/validation';
import { ConfigModule, testConfig } from '@app/config';
import { AtriumFastifyAdapter } from '@app/http-pipeline';
import { AnswerService } from './answer/answer.service';
import { DocumentsController } from './documents.controller';
import { DocumentsService } from './documents.service';
import { SearchController } from './search.controller';
import { SEARCH_CACHE_NAMESPACE, SearchRequest, SearchService } from './search.service';
import { StoresController } from './stores.controller';
import { StoresService } from './stores.service';

const KEY = 'slice-key-0123456789abcdef';

/** The guard counts failed authentications (auth_failures_total) in the app's Registry. */
@Global()
@Module({ providers: [{ provide: Registry, useValue: new Registry() }], exports: [Registry] })
class RegistryModule {}

/** Controller slice: the real ValidationPipe, AuthGuard and error filter in front of faked services. */
describe('search controllers (slice)', () => {
  let app: NestFastifyApplication;
  let fastify: FastifyInstance;
  const searches: Array<{ tenantId: string; req: SearchRequest; bypass?: boolean }> = [];
  const search = {
    // answers as a lookup in the route's cache scope would: the CacheInterceptor turns it into X-Cache
    search: jest.fn(async (tenantId: string, req: SearchRequest) => {
      const scope = routeCacheScope(SEARCH_CACHE_NAMESPACE);
      if (scope) scope.status = scope.bypass ? 'BYPASS' : 'MISS';
      searches.push({ tenantId, req, bypass: scope?.bypass });
      return { store: req.store, query: req.query, total: 0, tookMs: 1, results: [] };
    }),
  };
  const answers = {
    answer: jest.fn(async (_t: string, req: SearchRequest, kind: string) => ({
      store: req.store,
      query: req.query,
      total: 0,
      tookMs: 1,
      results: [],
      answer: null,
      kind,
    })),
  };
  const stores = { create: jest.fn(async (_t: string, name: string) => ({ name })) };
  const documents = { list: jest.fn(async () => ({ documents: [], nextCursor: null })) };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(testConfig({ AUTH_API_KEYS: `${KEY}=demo` })),
        RegistryModule,
        AuthModule,
      ],
      controllers: [SearchController, StoresController, DocumentsController],
      providers: [
        { provide: SearchService, useValue: search },
        { provide: AnswerService, useValue: answers },
        { provide: StoresService, useValue: stores },
        { provide: DocumentsService, useValue: documents },
      ],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new AtriumFastifyAdapter({}));
    app.useGlobalPipes(createValidationPipe());
    app.useGlobalFilters(new AllExceptionsFilter());
    await app.init();
    fastify = app.getHttpAdapter().getInstance();
    await fastify.ready();
  });
  afterAll(() => app.close());
  beforeEach(() => (searches.length = 0));

  const get = (url: string, headers: Record<string, string> = {}) =>
    fastify.inject({ method: 'GET', url, headers: { 'x-api-key': KEY, ...headers } });
  const post = (url: string, payload: unknown) =>
    fastify.inject({
      method: 'POST',
      url,
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  it('needs an API key', async () => {
    const res = await fastify.inject({ method: 'GET', url: '/api/v1/search?store=kb&q=x' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHENTICATED');
  });

  it('passes a valid GET through with defaults, the tenant and the no-cache wish', async () => {
    const res = await get('/api/v1/search?store=kb&q=hello%20world', { 'cache-control': 'no-cache' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-cache']).toBe('BYPASS');
    expect(searches).toEqual([
      {
        tenantId: 'demo',
        req: { store: 'kb', query: 'hello world', limit: 10, offset: 0, group: 'documents' },
        bypass: true,
      },
    ]);
  });

  it('passes a valid POST through with numbers as numbers', async () => {
    const res = await post('/api/v1/search', { store: 'kb', query: 'x', limit: 100, offset: 7 });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-cache']).toBe('MISS');
    expect(searches[0]).toEqual({
      tenantId: 'demo',
      req: { store: 'kb', query: 'x', limit: 100, offset: 7, group: 'documents' },
      bypass: false,
    });
  });

  it('validates answer= on GET and POST, and hands a valid one to the answers', async () => {
    const bad = await get('/api/v1/search?store=kb&q=x&answer=poem');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { fields: { answer: ['answer must be extractive or generate'] } },
    });
    expect((await post('/api/v1/search', { store: 'kb', query: 'x', answer: 7 })).statusCode).toBe(400);
    expect(answers.answer).not.toHaveBeenCalled();
    const ok = await get('/api/v1/search?store=kb&q=x&answer=extractive');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ answer: null, kind: 'extractive' });
    const posted = await post('/api/v1/search', { store: 'kb', query: 'x', answer: 'generate' });
    expect(posted.json()).toMatchObject({ kind: 'generate' });
    expect(answers.answer.mock.calls.map((c) => c[1])).toEqual([
      { store: 'kb', query: 'x', limit: 10, offset: 0, group: 'documents' },
      { store: 'kb', query: 'x', limit: 10, offset: 0, group: 'documents' },
    ]);
    expect(searches).toEqual([]);
  });

  it('passes group=chunks through from GET and POST', async () => {
    expect((await get('/api/v1/search?store=kb&q=x&group=chunks')).statusCode).toBe(200);
    expect((await post('/api/v1/search', { store: 'kb', query: 'x', group: 'chunks' })).statusCode).toBe(200);
    expect(searches.map((s) => s.req.group)).toEqual(['chunks', 'chunks']);
  });

  it.each([
    ['q empty', '/api/v1/search?store=kb&q=', 'q'],
    ['q blank', '/api/v1/search?store=kb&q=%20', 'q'],
    ['q 1001 chars', `/api/v1/search?store=kb&q=${'x'.repeat(1001)}`, 'q'],
    ['store invalid', '/api/v1/search?store=KB!&q=x', 'store'],
    ['limit 0', '/api/v1/search?store=kb&q=x&limit=0', 'limit'],
    ['limit not a number', '/api/v1/search?store=kb&q=x&limit=ten', 'limit'],
    ['offset negative', '/api/v1/search?store=kb&q=x&offset=-1', 'offset'],
    ['an unknown group', '/api/v1/search?store=kb&q=x&group=pages', 'group'],
  ])('GET with %s is a 400 naming the field', async (_label, url, field) => {
    const res = await get(url);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { fields: { [field]: expect.any(Array) } },
    });
    expect(searches).toHaveLength(0);
  });

  it.each([
    ['characters', `q=${'x'.repeat(1001)}`, 'SEARCH_QUERY_MAX_CHARS', 1000],
    ['words', `q=${Array.from({ length: 33 }, (_, i) => `w${i}`).join('+')}`, 'SEARCH_QUERY_MAX_TERMS', 32],
    // not 'a-a-…': stop words are not counted (the index holds none)
    ['hyphenated words', `q=${'x-'.repeat(32)}b`, 'SEARCH_QUERY_MAX_TERMS', 32],
  ])('a query over the bound of %s is a 400 naming the limit', async (_label, qs, name, max) => {
    const res = await get(`/api/v1/search?store=kb&${qs}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining(name),
      details: { fields: { q: [expect.stringContaining(name)] }, limit: { name, max } },
    });
    expect(searches).toHaveLength(0);
  });

  it('counts words as the database would: operators and quotes are not words', async () => {
    const words = Array.from({ length: 32 }, (_, i) => `w${i}`);
    const query = `"${words.slice(0, 10).join(' ')}" OR ${words.slice(10, 31).join(' or ')} -${words[31]}`;
    const res = await post('/api/v1/search', { store: 'kb', query });
    expect(res.statusCode).toBe(200);
    expect((await post('/api/v1/search', { store: 'kb', query: `${query} w32` })).json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { fields: { query: [expect.stringContaining('SEARCH_QUERY_MAX_TERMS')] } },
    });
  });

  it('accepts a query of exactly 1000 characters (astral characters count once)', async () => {
    expect((await get(`/api/v1/search?store=kb&q=${'x'.repeat(1000)}`)).statusCode).toBe(200);
    expect((await get(`/api/v1/search?store=kb&q=${encodeURIComponent('😀'.repeat(1000))}`)).statusCode).toBe(
      200,
    );
  });

  it.each([
    ['a number as query', { store: 'kb', query: 42 }, 'query'],
    ['an empty query', { store: 'kb', query: '' }, 'query'],
    ['a 1001-character query', { store: 'kb', query: 'y'.repeat(1001) }, 'query'],
    ['no store', { query: 'x' }, 'store'],
    ['an unknown field', { store: 'kb', query: 'x', fuzzy: true }, 'fuzzy'],
    ['limit 101', { store: 'kb', query: 'x', limit: 101 }, 'limit'],
    ['group not a string', { store: 'kb', query: 'x', group: 1 }, 'group'],
  ])('POST with %s is a 400 naming the field', async (_label, body, field) => {
    const res = await post('/api/v1/search', body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { fields: { [field]: expect.any(Array) } },
    });
  });

  it('POST with malformed JSON is a 400 MALFORMED_JSON', async () => {
    const res = await post('/api/v1/search', '{"store":');
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('MALFORMED_JSON');
  });

  it('validates store names and document list parameters', async () => {
    expect((await post('/api/v1/stores', { name: 'Bad Name' })).statusCode).toBe(400);
    expect((await post('/api/v1/stores', {})).statusCode).toBe(400);
    expect((await post('/api/v1/stores', { name: 'ok-name_1' })).statusCode).toBe(201);
    expect((await get('/api/v1/stores/kb/documents?cursor=-1')).statusCode).toBe(400);
    // cursors are opaque (document-cursor.ts): a bare sequence number is no longer one
    const numeric = await get('/api/v1/stores/kb/documents?cursor=12');
    expect(numeric.statusCode).toBe(400);
    expect(numeric.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { fields: { cursor: [expect.any(String)] } },
    });
    expect((await get('/api/v1/stores/kb/documents?limit=0')).statusCode).toBe(400);
    expect((await get(`/api/v1/stores/kb/documents?limit=5&cursor=${'A'.repeat(50)}`)).statusCode).toBe(200);
  });
});
