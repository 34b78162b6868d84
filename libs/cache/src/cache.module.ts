import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { CACHE_MANAGER, CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';
import { CacheBackend, CacheBackendOptions, CacheStores } from './cache-backend';
import { CacheInterceptor } from './cache.interceptor';
import { CacheFeatureOptions, TieredCache } from './tiered-cache';

/** The DI token of a namespace's TieredCache (see InjectTieredCache). */
export function tieredCacheToken(namespace: string): string {
  return `atrium:tiered-cache:${namespace}`;
}

/** `@InjectTieredCache('building_dir') cache: TieredCache<Building>` */
export const InjectTieredCache = (namespace: string): ParameterDecorator & PropertyDecorator =>
  Inject(tieredCacheToken(namespace));

/** What the importer's factory gives `CacheModule.forRootAsync`. */
export type CacheModuleOptions = CacheBackendOptions;

const CACHE_MODULE_OPTIONS = Symbol('CACHE_MODULE_OPTIONS');

/** Starts the backend (Redis connects in the background) and closes it at shutdown. */
@Injectable()
class CacheLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(private readonly backend: CacheBackend) {}

  onModuleInit(): void {
    this.backend.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.backend.close();
  }
}

@Module({})
class CacheFeatureModule {}

@Module({})
class CacheStoresModule {}

/**
 * The tiered cache, configured by its importer (the library reads no config and knows no app code).
 *
 *   app:     CacheModule.forRootAsync({ inject: [AppConfig, Registry], useFactory: (c, r) => ({ redisUrl, opTimeoutMs, l1MaxEntries, registry: r }) })
 *   feature: CacheModule.forFeature({ namespace: 'search', inject: [AppConfig], useFactory: (c) => ({ keyType: 'search', ttlMs }) })
 *   service: constructor(@InjectTieredCache('search') cache: TieredCache<Page>)
 *
 * HTTP:    @UseInterceptors(CacheInterceptor) @CacheNamespace('search') on a cached route (see CacheInterceptor)
 *
 * Underneath, @nestjs/cache-manager's module (CACHE_MANAGER, cache-manager 7) is registered with two
 * Keyv stores — L1 lru-cache (entries and bytes), L2 @keyv/redis behind the bounded-operation wrapper — and
 * TieredCache reads and writes through CACHE_MANAGER's `wrap`/`get`/`set`/`mdel`. The app shows what the library exports:
 * `CacheBackend.snapshot()` (hits, misses, sizes) and `CacheBackend.l2?.roundTrip()` (a Redis check).
 */
@Module({})
export class CacheModule {
  static forRootAsync(options: {
    imports?: DynamicModule['imports'];
    inject?: unknown[];
    useFactory: (...args: never[]) => CacheModuleOptions | Promise<CacheModuleOptions>;
  }): DynamicModule {
    // one instance, imported by both modules below: the stores @nestjs/cache-manager is given are
    // the ones CacheBackend shares its metrics and Redis connection with
    const stores: DynamicModule = {
      module: CacheStoresModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: CACHE_MODULE_OPTIONS,
          inject: (options.inject ?? []) as never[],
          useFactory: options.useFactory,
        },
        {
          provide: CacheStores,
          inject: [CACHE_MODULE_OPTIONS],
          useFactory: (opts: CacheModuleOptions) => new CacheStores(opts),
        },
      ],
      exports: [CacheStores],
    };
    return {
      module: CacheModule,
      global: true,
      imports: [
        stores,
        NestCacheModule.registerAsync({
          imports: [stores],
          inject: [CacheStores],
          useFactory: (s: CacheStores) => ({ stores: s.keyvs }),
        }),
      ],
      providers: [
        {
          provide: CacheBackend,
          inject: [CacheStores, CACHE_MANAGER],
          useFactory: (s: CacheStores, manager: Cache) => new CacheBackend(s, manager),
        },
        CacheLifecycle,
        CacheInterceptor,
      ],
      exports: [CacheBackend, CacheInterceptor, NestCacheModule],
    };
  }

  /** A TieredCache for one namespace, injected with `@InjectTieredCache(namespace)`. */
  static forFeature(options: {
    namespace: string;
    inject?: unknown[];
    useFactory: (...args: never[]) => Omit<CacheFeatureOptions, 'namespace'>;
  }): DynamicModule {
    const token = tieredCacheToken(options.namespace);
    return {
      module: CacheFeatureModule,
      providers: [
        {
          provide: token,
          inject: [CacheBackend, ...(options.inject ?? [])] as never[],
          useFactory: (backend: CacheBackend, ...args: never[]) =>
            new TieredCache(backend, { ...options.useFactory(...args), namespace: options.namespace }),
        },
      ],
      exports: [token],
    };
  }
}
