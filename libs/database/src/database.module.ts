import {
  DynamicModule,
  Global,
  Injectable,
  Logger,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FairPool } from '@libs/scheduling';
import { Database } from './database';
import { DatabaseOpenError } from './database.errors';
import { Migration, runMigrations } from './migrations';
import { PgDatabase } from './pg.database';
import { PgliteDatabase } from './pglite.database';

export interface DatabaseModuleOptions {
  /** postgres:// URL; unset = embedded PGlite in `${dataDir}/pglite` (or memory when dataDir is unset). */
  url?: string;
  dataDir?: string;
  poolMax: number;
  statementTimeoutMs: number;
  /** Migrations the root importer owns; features register theirs with `DatabaseModule.forFeature`. */
  migrations?: Migration[];
  /**
   * PGlite contrib extensions to load (names of `@electric-sql/pglite/contrib/<name>`, e.g. 'pg_trgm');
   * a migration still runs CREATE EXTENSION. Postgres servers have contrib installed: ignored there.
   */
  extensions?: string[];
  /**
   * PGlite only (one session): how long a statement may wait for it; default statementTimeoutMs. On
   * Postgres the wait for a pool connection is bounded by the connect timeout.
   */
  queueTimeoutMs?: number;
  /** PGlite only: Postgres settings over PGLITE_DEFAULT_SETTINGS (memory sizes). */
  pgliteSettings?: Record<string, string>;
  /** PGlite only: replace an idle worker whose WASM heap grew past this many bytes (0 = never). */
  pgliteRecycleAboveBytes?: number;
  /**
   * PGlite only: whose statement this is, as an opaque key (the app passes the tenant of the current
   * request or job): the one session goes to waiting keys in turn. Unset: first come, first served.
   */
  fairnessKey?: () => string | undefined;
  /** PGlite only: receives the session's FairPool (one slot), e.g. to publish its waits as metrics. */
  observeSession?: (session: FairPool) => void;
  /**
   * The app's Prometheus registry (db_query_duration_seconds, db_pool_connections,
   * db_query_timeouts_total, db_worker_restarts_total).
   */
  registry?: Registry;
}

export const DATABASE_OPTIONS = Symbol('DATABASE_OPTIONS');

/**
 * Every migration the app's modules registered (forRootAsync's own, then each forFeature's). Providers
 * are all created before any onModuleInit runs, so the list is complete when the lifecycle applies it.
 */
@Injectable()
export class MigrationRegistry {
  private readonly migrations: Migration[] = [];

  add(migrations: Migration[]): void {
    this.migrations.push(...migrations);
  }

  all(): Migration[] {
    return [...this.migrations];
  }
}

function counter<L extends string>(
  registry: Registry | undefined,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> | undefined {
  return registry ? new Counter({ name, help, labelNames, registers: [registry] }) : undefined;
}

export function createDatabase(opts: DatabaseModuleOptions): Database {
  const histogram = opts.registry
    ? new Histogram({
        name: 'db_query_duration_seconds',
        help: 'Database statement duration by operation and table',
        labelNames: ['operation', 'table'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5],
        registers: [opts.registry],
      })
    : undefined;
  const timeouts = counter(
    opts.registry,
    'db_query_timeouts_total',
    'Database statements stopped (or refused while queued) by their time bound, by adapter: pg, pglite',
    ['adapter'],
  );
  const db = opts.url
    ? new PgDatabase({
        url: opts.url,
        poolMax: opts.poolMax,
        statementTimeoutMs: opts.statementTimeoutMs,
        histogram,
        timeouts,
      })
    : new PgliteDatabase({
        dataDir: opts.dataDir ? join(opts.dataDir, 'pglite') : undefined,
        statementTimeoutMs: opts.statementTimeoutMs,
        queueTimeoutMs: opts.queueTimeoutMs,
        extensions: opts.extensions,
        settings: opts.pgliteSettings,
        recycleAboveBytes: opts.pgliteRecycleAboveBytes,
        fairnessKey: opts.fairnessKey,
        histogram,
        timeouts,
        restarts: counter(
          opts.registry,
          'db_worker_restarts_total',
          'PGlite worker threads replaced: after a statement over its bound, a crash, or to give memory back',
          [],
        ),
      });
  if (db instanceof PgliteDatabase) opts.observeSession?.(db.session);
  if (opts.registry) {
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections by state: active, idle, waiting (queued), total (open), max (pool size)',
      labelNames: ['state'],
      registers: [opts.registry],
      collect() {
        const s = db.poolStats();
        this.set({ state: 'active' }, s.active);
        this.set({ state: 'idle' }, s.idle);
        this.set({ state: 'waiting' }, s.waiting);
        this.set({ state: 'total' }, s.total);
        this.set({ state: 'max' }, s.max);
      },
    });
  }
  return db;
}

@Injectable()
class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  constructor(
    private readonly db: Database,
    private readonly migrations: MigrationRegistry,
  ) {}

  async onModuleInit(): Promise<void> {
    let applied: number[];
    try {
      if (this.db instanceof PgliteDatabase) await this.db.ready();
      applied = await runMigrations(this.db, this.migrations.all());
    } catch (err) {
      // startup fails naming the database, whatever the adapter said
      throw new DatabaseOpenError(this.db.kind, this.db.description, err);
    }
    this.logger.log(
      `Database ${this.db.kind} (${this.db.description}) ready; ${applied.length ? `applied migrations ${applied.join(', ')}` : 'schema up to date'}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}

@Module({})
class DatabaseFeatureModule {}

/**
 * Global database module: `Database` (pg Pool or PGlite behind one port), migrations applied at startup
 * under a lock, and the query/pool metrics on the app's registry.
 *
 *   app:     DatabaseModule.forRootAsync({ inject: [AppConfig, Registry], useFactory: (c, r) => ({ …, registry: r }) })
 *   feature: DatabaseModule.forFeature({ migrations: SEARCH_MIGRATIONS })
 *
 * Migration ids are global and never reused: the runner sorts every registered migration by id and
 * refuses duplicates, so a feature's ids must not collide with another's.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRootAsync(options: {
    imports?: DynamicModule['imports'];
    inject?: unknown[];
    useFactory: (...args: never[]) => DatabaseModuleOptions | Promise<DatabaseModuleOptions>;
  }): DynamicModule {
    return {
      module: DatabaseModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: DATABASE_OPTIONS,
          inject: (options.inject ?? []) as never[],
          useFactory: options.useFactory,
        },
        { provide: Database, inject: [DATABASE_OPTIONS], useFactory: createDatabase },
        {
          provide: MigrationRegistry,
          inject: [DATABASE_OPTIONS],
          useFactory: (opts: DatabaseModuleOptions) => {
            const registry = new MigrationRegistry();
            registry.add(opts.migrations ?? []);
            return registry;
          },
        },
        DatabaseLifecycle,
      ],
      exports: [Database, MigrationRegistry],
    };
  }

  /** Registers a feature's migrations; they are applied at startup with everyone else's, in id order. */
  static forFeature(options: { migrations: Migration[] }): DynamicModule {
    return {
      module: DatabaseFeatureModule,
      providers: [
        {
          provide: `atrium:migrations:${options.migrations.map((m) => m.id).join(',')}`,
          inject: [MigrationRegistry],
          useFactory: (registry: MigrationRegistry) => {
            registry.add(options.migrations);
            return options.migrations;
          },
        },
      ],
    };
  }
}
