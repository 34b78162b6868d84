import { Pool, PoolClient } from 'pg';
import type { Histogram } from 'prom-client';
import { Database, PoolStats, Queryable, QueryResult } from './database';
import { timed } from './query-metrics';

export interface PgOptions {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
  connectTimeoutMs?: number;
  histogram?: Histogram<'operation' | 'table'>;
}

export class PgDatabase extends Database {
  readonly kind = 'postgres' as const;
  readonly description: string;
  private readonly pool: Pool;

  constructor(private readonly opts: PgOptions) {
    super();
    const url = new URL(opts.url);
    this.description = `postgres://${url.hostname}:${url.port || 5432}${url.pathname}`;
    this.pool = new Pool({
      connectionString: opts.url,
      max: opts.poolMax,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30000,
      statement_timeout: opts.statementTimeoutMs,
      application_name: 'atrium',
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  get databaseName(): string {
    return new URL(this.opts.url).pathname.replace(/^\//, '');
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const r = await timed(this.opts.histogram, sql, () => this.pool.query(sql, params));
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    // without parameters pg uses the simple query protocol, which runs several statements
    await timed(this.opts.histogram, sql, () => this.pool.query(sql));
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    const tx: Queryable = {
      exec: async (sql: string) => {
        await timed(this.opts.histogram, sql, () => client.query(sql));
      },
      query: async <R>(sql: string, params: unknown[] = []) => {
        const r = await timed(this.opts.histogram, sql, () => client.query(sql, params));
        return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
      },
    };
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  poolStats(): PoolStats {
    const total = this.pool.totalCount;
    const idle = this.pool.idleCount;
    return { total, max: this.opts.poolMax, idle, active: total - idle, waiting: this.pool.waitingCount };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
