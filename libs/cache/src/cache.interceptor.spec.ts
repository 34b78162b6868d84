import { Controller, Get, Headers, Module, NotFoundException, Param, UseInterceptors } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { CacheBackend } from './cache-backend';
import { CacheInterceptor, CacheNamespace, CacheTTL } from './cache.interceptor';
import { InjectTieredCache, tieredCacheToken } from './cache.module';
import { TieredCache } from './tiered-cache';

/** What the routes below load: per tenant and id, counting calls; `fail` makes the next loads throw. */
class Source {
  values = new Map<string, number>();
  calls = 0;
  fail = false;
  async load(tenant: string, id: string): Promise<{ tenant: string; id: string; n: number } | null> {
    this.calls++;
    if (this.fail) throw new Error('source down');
    const n = this.values.get(`${tenant}/${id}`);
    return n === undefined ? null : { tenant, id, n };
  }
}

@Controller('things')
class ThingsController {
  constructor(
    @InjectTieredCache('things')
    private readonly cache: TieredCache<{ tenant: string; id: string; n: number }>,
    @InjectTieredCache('other') private readonly other: TieredCache<number>,
    private readonly source: Source,
  ) {}

  private async read(tenant: string, id: string) {
    const { value } = await this.cache.getOrLoad(tenant, id, () => this.source.load(tenant, id));
    if (value === null) throw new NotFoundException();
    return value;
  }

  @Get('uncached/:id')
  uncached(@Headers('x-tenant') tenant: string, @Param('id') id: string) {
    return this.read(tenant, id);
  }

  @Get('short/:id')
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace('things')
  @CacheTTL(1)
  short(@Headers('x-tenant') tenant: string, @Param('id') id: string) {
    return this.read(tenant, id);
  }

  @Get('elsewhere/:id')
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace('things')
  async elsewhere(@Headers('x-tenant') tenant: string, @Param('id') id: string) {
    return (await this.other.getOrLoad(tenant, id, async () => 1)).value;
  }

  @Get('copy/:id')
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace('things')
  async copy(@Headers('x-tenant') tenant: string, @Param('id') id: string) {
    return { ...(await this.read(tenant, id)) };
  }

  @Get(':id')
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace('things')
  get(@Headers('x-tenant') tenant: string, @Param('id') id: string) {
    return this.read(tenant, id);
  }
}

/** One handler, inherited by two controllers: only one of them caches (class-level metadata). */
abstract class InheritedThings {
  constructor(private readonly cache: TieredCache<{ tenant: string; id: string; n: number }>) {}

  @Get(':id')
  async get(@Headers('x-tenant') tenant: string, @Param('id') id: string) {
    return (await this.cache.getOrLoad(tenant, id, async () => ({ tenant, id, n: 0 }))).value;
  }
}

@Controller('plain-things')
@UseInterceptors(CacheInterceptor)
class PlainThingsController extends InheritedThings {
  constructor(@InjectTieredCache('things') cache: TieredCache<{ tenant: string; id: string; n: number }>) {
    super(cache);
  }
}

@Controller('cached-things')
@UseInterceptors(CacheInterceptor)
@CacheNamespace('things')
class CachedThingsController extends InheritedThings {
  constructor(@InjectTieredCache('things') cache: TieredCache<{ tenant: string; id: string; n: number }>) {
    super(cache);
  }
}

const isEntry = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && (v as { id?: unknown }).id === '9' && (v as { n?: unknown }).n === 9;

describe('CacheInterceptor', () => {
  let app: NestFastifyApplication;
  let fastify: FastifyInstance;
  let backend: CacheBackend;
  let source: Source;

  beforeAll(async () => {
    backend = new CacheBackend({ opTimeoutMs: 50, l1MaxEntries: 100, registry: new Registry() });
    source = new Source();
    @Module({
      controllers: [ThingsController, PlainThingsController, CachedThingsController],
      providers: [
        { provide: Source, useValue: source },
        {
          provide: tieredCacheToken('things'),
          useValue: new TieredCache(backend, {
            keyType: 'thing',
            namespace: 'things',
            ttlMs: 60_000,
            staleTtlMs: 60_000,
            negativeTtlMs: 60_000,
          }),
        },
        {
          provide: tieredCacheToken('other'),
          useValue: new TieredCache(backend, { keyType: 'other', namespace: 'other', ttlMs: 60_000 }),
        },
      ],
    })
    class TestModule {}
    const moduleRef = await Test.createTestingModule({ imports: [TestModule] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    await app.init();
    fastify = app.getHttpAdapter().getInstance();
    await fastify.ready();
  });
  afterAll(async () => {
    await app.close();
    await backend.close();
  });
  beforeEach(() => {
    source.calls = 0;
    source.fail = false;
  });

  const get = (url: string, tenant = 'acme', headers: Record<string, string> = {}) =>
    fastify.inject({ method: 'GET', url, headers: { 'x-tenant': tenant, ...headers } });

  it('MISS, then HIT without calling the source again', async () => {
    source.values.set('acme/1', 1);
    const first = await get('/things/1');
    expect([first.statusCode, first.headers['x-cache'], first.json()]).toEqual([
      200,
      'MISS',
      { tenant: 'acme', id: '1', n: 1 },
    ]);
    const second = await get('/things/1');
    expect([second.headers['x-cache'], second.json()]).toEqual(['HIT', { tenant: 'acme', id: '1', n: 1 }]);
    expect(source.calls).toBe(1);
  });

  it("answers with the cached object's JSON, serialised once while the cache holds it (same bytes, same type)", async () => {
    source.values.set('acme/9', 9);
    const stringify = jest.spyOn(JSON, 'stringify');
    try {
      const answers = [await get('/things/9'), await get('/things/9'), await get('/things/9')];
      expect(answers.map((r) => r.headers['x-cache'])).toEqual(['MISS', 'HIT', 'HIT']);
      for (const r of answers) {
        expect(r.body).toBe('{"tenant":"acme","id":"9","n":9}');
        expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      }
      const ofTheEntry = stringify.mock.calls.filter(([v]) => isEntry(v));
      expect(ofTheEntry).toHaveLength(1);
    } finally {
      stringify.mockRestore();
    }
    // a handler answering with another object (a copy) is serialised by Fastify, as before
    const copy = await get('/things/copy/9');
    expect([copy.headers['x-cache'], copy.body, copy.headers['content-type']]).toEqual([
      'HIT',
      '{"tenant":"acme","id":"9","n":9}',
      'application/json; charset=utf-8',
    ]);
  });

  it('Cache-Control: no-cache (or Pragma: no-cache) is a BYPASS that still stores the fresh answer', async () => {
    source.values.set('acme/2', 1);
    await get('/things/2');
    source.values.set('acme/2', 2);
    const fresh = await get('/things/2', 'acme', { 'cache-control': 'no-cache' });
    expect([fresh.headers['x-cache'], fresh.json().n]).toEqual(['BYPASS', 2]);
    const pragma = await get('/things/2', 'acme', { pragma: 'no-cache' });
    expect(pragma.headers['x-cache']).toBe('BYPASS');
    const cached = await get('/things/2');
    expect([cached.headers['x-cache'], cached.json().n]).toEqual(['HIT', 2]);
    expect(source.calls).toBe(3);
  });

  it('STALE: past the route’s @CacheTTL the old answer is served when the source fails', async () => {
    source.values.set('acme/3', 1);
    expect((await get('/things/short/3')).headers['x-cache']).toBe('MISS');
    await new Promise((r) => setTimeout(r, 20)); // past the 1 ms TTL, inside the stale window
    source.fail = true;
    const stale = await get('/things/short/3');
    expect([stale.statusCode, stale.headers['x-cache'], stale.json().n]).toEqual([200, 'STALE', 1]);
  });

  it('errors are never cached and carry no X-Cache', async () => {
    source.fail = true;
    const failed = await get('/things/4');
    expect(failed.statusCode).toBe(500);
    expect(failed.headers['x-cache']).toBeUndefined();
    source.fail = false;
    source.values.set('acme/4', 4);
    const next = await get('/things/4');
    expect([next.statusCode, next.headers['x-cache'], next.json().n]).toEqual([200, 'MISS', 4]);
    expect(source.calls).toBe(2);
  });

  it('a cached "not found" answers 404 again without the source, with no X-Cache on the error', async () => {
    const first = await get('/things/missing');
    const second = await get('/things/missing');
    expect([first.statusCode, second.statusCode]).toEqual([404, 404]);
    expect(second.headers['x-cache']).toBeUndefined();
    expect(source.calls).toBe(1);
  });

  it('the tenant is in every key: same id, two tenants, two entries', async () => {
    source.values.set('acme/5', 1);
    source.values.set('globex/5', 2);
    expect((await get('/things/5', 'acme')).json()).toMatchObject({ tenant: 'acme', n: 1 });
    const globex = await get('/things/5', 'globex');
    expect([globex.headers['x-cache'], globex.json()]).toEqual(['MISS', { tenant: 'globex', id: '5', n: 2 }]);
    expect(backend.l1.has('things:acme:5')).toBe(true);
    expect(backend.l1.has('things:globex:5')).toBe(true);
    expect((await get('/things/5', 'acme')).json().n).toBe(1);
  });

  it('says nothing on routes it is not applied to, or about lookups in another namespace', async () => {
    source.values.set('acme/6', 6);
    const plain = await get('/things/uncached/6');
    expect([plain.statusCode, plain.headers['x-cache']]).toEqual([200, undefined]);
    expect((await get('/things/uncached/6', 'acme', { 'cache-control': 'no-cache' })).json().n).toBe(6);
    expect(source.calls).toBe(1); // the no-cache wish is the interceptor's: without it, a HIT
    const other = await get('/things/elsewhere/6');
    expect([other.statusCode, other.headers['x-cache']]).toEqual([200, undefined]);
  });

  it('reads route metadata per (class, handler): an inherited handler caches only where its class says so', async () => {
    // the uncached controller answers first, so a memo keyed by the shared handler alone would remember "no cache"
    const plain = await get('/plain-things/7');
    expect([plain.statusCode, plain.headers['x-cache']]).toEqual([200, undefined]);
    const cached = await get('/cached-things/7'); // the plain route's lookup stored the entry
    expect([cached.statusCode, cached.headers['x-cache']]).toEqual([200, 'HIT']);
    const bypass = await get('/cached-things/7', 'acme', { 'cache-control': 'no-cache' });
    expect(bypass.headers['x-cache']).toBe('BYPASS');
    expect((await get('/plain-things/7')).headers['x-cache']).toBeUndefined();
  });
});
