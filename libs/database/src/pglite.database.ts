import { PGlite } from '@electric-sql/pglite';
import { mkdirSync } from 'node:fs';
import type { Histogram } from 'prom-client';
import { Database, PoolStats, Queryable, QueryResult } from './database';
import { timed } from './query-metrics';

export interface PgliteOptions {
  /** Directory for the data files; undefined = in memory (tests). */
  dataDir?: string;
  histogram?: Histogram<'operation' | 'table'>;
}

/**
 * Embedded PostgreSQL (WASM) for the zero-dependency default. One session: statements queue, so the
 * "pool" has one connection and `waiting` counts queued statements.
 */
export class PgliteDatabase extends Database {
  readonly kind = 'pglite' as const;
  readonly description: string;
  private readonly db: PGlite;
  private active = 0;
  private waiting = 0;

  constructor(private readonly opts: PgliteOptions) {
    super();
    if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
    this.description = opts.dataDir ? `pglite:${opts.dataDir}` : 'pglite:memory';
    this.db = new PGlite(opts.dataDir);
  }

  async ready(): Promise<void> {
    await this.db.waitReady;
  }

  private async track<T>(run: () => Promise<T>): Promise<T> {
    this.waiting++;
    try {
      return await run();
    } finally {
      this.waiting--;
    }
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const r = await this.track(() => timed(this.opts.histogram, sql, () => this.db.query<T>(sql, params)));
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  }

  async exec(sql: string): Promise<void> {
    await this.track(() => timed(this.opts.histogram, sql, () => this.db.exec(sql)));
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.track(() =>
      this.db.transaction(async (t) => {
        this.active++;
        try {
          return await fn({
            exec: async (sql: string) => {
              await timed(this.opts.histogram, sql, () => t.exec(sql));
            },
            query: async <R>(sql: string, params: unknown[] = []) => {
              const r = await timed(this.opts.histogram, sql, () => t.query<R>(sql, params));
              return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
            },
          });
        } finally {
          this.active--;
        }
      }),
    );
  }

  poolStats(): PoolStats {
    const busy = this.waiting > 0 || this.active > 0 ? 1 : 0;
    return { total: 1, max: 1, active: busy, idle: 1 - busy, waiting: Math.max(0, this.waiting - busy) };
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}
