import { Pool, PoolClient, QueryConfig } from 'pg';
import type { Counter, Histogram } from 'prom-client';
import { Database, PoolStats, Queryable, QueryResult } from './database';
import { DatabaseTimeoutError, isStatementTimeout } from './database.errors';
import { timed } from './query-metrics';

export interface PgOptions {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
  connectTimeoutMs?: number;
  histogram?: Histogram<'operation' | 'table'>;
  /** db_query_timeouts_total{adapter} */
  timeouts?: Counter<'adapter'>;
}

/**
 * The server cancels a statement at statement_timeout; the client gives up this much later on its own
 * (a server or network that stopped answering), and pg then discards the connection.
 */
const CLIENT_MARGIN_MS = 2000;

const READ_TIMEOUT = 'Query read timeout';

/** The client gave up on the statement (the server may still be running it): the connection is unusable. */
function clientTimedOut(err: unknown): boolean {
  const e = err instanceof DatabaseTimeoutError ? err.cause : err;
  return (e as Error | undefined)?.message === READ_TIMEOUT;
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
      query_timeout: opts.statementTimeoutMs + CLIENT_MARGIN_MS,
      application_name: 'atrium',
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  get databaseName(): string {
    return new URL(this.opts.url).pathname.replace(/^\//, '');
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const timeoutMs = this.statementTimeoutMs(this.opts.statementTimeoutMs);
    if (timeoutMs !== this.opts.statementTimeoutMs)
      return this.onClient((client) => this.run<T>(client, sql, params, timeoutMs), timeoutMs);
    const r = await this.bounded(timeoutMs, () =>
      timed(this.opts.histogram, sql, () => this.pool.query(sql, params)),
    );
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    const timeoutMs = this.statementTimeoutMs(this.opts.statementTimeoutMs);
    if (timeoutMs !== this.opts.statementTimeoutMs) {
      await this.onClient((client) => this.run(client, sql, undefined, timeoutMs), timeoutMs);
      return;
    }
    // without parameters pg uses the simple query protocol, which runs several statements
    await this.bounded(timeoutMs, () => timed(this.opts.histogram, sql, () => this.pool.query(sql)));
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    const defaultMs = this.opts.statementTimeoutMs;
    // The bound in force when the transaction began holds for all of it (SET LOCAL ends with it).
    const timeoutMs = this.statementTimeoutMs(defaultMs);
    const tx: Queryable = {
      exec: async (sql: string) => {
        await this.run(client, sql, undefined, timeoutMs);
      },
      query: async <R>(sql: string, params: unknown[] = []) => this.run<R>(client, sql, params, timeoutMs),
    };
    let broken: unknown;
    try {
      await client.query('BEGIN');
      if (timeoutMs !== defaultMs)
        await client.query(`SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (clientTimedOut(err)) broken = err;
      else await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
      throw err;
    } finally {
      // A connection that timed out on the client side may still be busy: pg discards it.
      client.release(broken instanceof Error ? broken : undefined);
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

  /** One statement on a client, with its timeout errors mapped. */
  private async run<T>(
    client: PoolClient,
    sql: string,
    params: unknown[] | undefined,
    timeoutMs: number,
  ): Promise<QueryResult<T>> {
    // query_timeout per query is read by pg but missing from its types
    const config: QueryConfig & { query_timeout: number } = {
      text: sql,
      values: params,
      query_timeout: timeoutMs + CLIENT_MARGIN_MS,
    };
    const r = await this.bounded(timeoutMs, () =>
      timed(this.opts.histogram, sql, () => client.query(config as QueryConfig)),
    );
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  /**
   * A statement with a bound other than the pool's: statement_timeout set on one connection for it and
   * reset after (a connection whose reset fails is discarded, never handed back with the wrong bound).
   */
  private async onClient<R>(fn: (client: PoolClient) => Promise<R>, timeoutMs: number): Promise<R> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`SET statement_timeout = ${Math.trunc(timeoutMs)}`);
      return await fn(client);
    } catch (err) {
      if (clientTimedOut(err)) broken = err as Error;
      throw err;
    } finally {
      if (!broken) await client.query('RESET statement_timeout').catch((e: Error) => (broken = e));
      client.release(broken);
    }
  }

  /** Maps statement_timeout (SQLSTATE 57014) and the client-side read bound to DatabaseTimeoutError. */
  private async bounded<R>(timeoutMs: number, run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (err) {
      if (isStatementTimeout(err) || clientTimedOut(err)) {
        this.opts.timeouts?.inc({ adapter: 'pg' });
        const timeout = new DatabaseTimeoutError('pg', timeoutMs);
        timeout.cause = err;
        throw timeout;
      }
      throw err;
    }
  }
}
