import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { join } from 'node:path';
import { Gauge, Histogram, Registry } from 'prom-client';
import { Database } from './database';
import { Migration, runMigrations } from './migrations';
import { PgDatabase } from './pg.database';
import { PgliteDatabase } from './pglite.database';

export interface DatabaseModuleOptions {
  /** postgres:// URL; unset = embedded PGlite in `${dataDir}/pglite` (or memory when dataDir is unset). */
  url?: string;
  dataDir?: string;
  poolMax: number;
  statementTimeoutMs: number;
  migrations: Migration[];
  /** The app's Prometheus registry (db_query_duration_seconds, db_pool_connections). */
  registry?: Registry;
}

export const DATABASE_OPTIONS = Symbol('DATABASE_OPTIONS');

export function createDatabase(opts: DatabaseModuleOptions): Database {
  const histogram = opts.registry
    ? ((opts.registry.getSingleMetric('db_query_duration_seconds') as
        Histogram<'operation' | 'table'> | undefined) ??
      new Histogram({
        name: 'db_query_duration_seconds',
        help: 'Database statement duration by operation and table',
        labelNames: ['operation', 'table'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5],
        registers: [opts.registry],
      }))
    : undefined;
  const db = opts.url
    ? new PgDatabase({
        url: opts.url,
        poolMax: opts.poolMax,
        statementTimeoutMs: opts.statementTimeoutMs,
        histogram,
      })
    : new PgliteDatabase({ dataDir: opts.dataDir ? join(opts.dataDir, 'pglite') : undefined, histogram });
  if (opts.registry && !opts.registry.getSingleMetric('db_pool_connections')) {
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
    @Inject(DATABASE_OPTIONS) private readonly opts: DatabaseModuleOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.db instanceof PgliteDatabase) await this.db.ready();
    const applied = await runMigrations(this.db, this.opts.migrations);
    this.logger.log(
      `Database ${this.db.kind} (${this.db.description}) ready; ${applied.length ? `applied migrations ${applied.join(', ')}` : 'schema up to date'}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}

/**
 * Global database module: `Database` (pg Pool or PGlite behind one port), migrations applied at startup
 * under a lock, and the query/pool metrics on the app's registry.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRootAsync(options: {
    inject: unknown[];
    useFactory: (...args: never[]) => DatabaseModuleOptions;
  }): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: DATABASE_OPTIONS, inject: options.inject as never[], useFactory: options.useFactory },
        { provide: Database, inject: [DATABASE_OPTIONS], useFactory: createDatabase },
        DatabaseLifecycle,
      ],
      exports: [Database],
    };
  }
}
