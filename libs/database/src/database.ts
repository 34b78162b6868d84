import { AsyncLocalStorage } from 'node:async_hooks';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/** A connection inside a transaction: same query API, statements run on one session. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Runs a script of one or more statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface PoolStats {
  /** Open connections. */
  total: number;
  /** The pool's size limit (DATABASE_POOL_MAX; 1 for PGlite): utilisation = active / max. */
  max: number;
  active: number;
  idle: number;
  waiting: number;
}

/** The statement bound of the code running inside `withStatementTimeout`. */
const statementScope = new AsyncLocalStorage<{ timeoutMs: number }>();

/**
 * The database port. Two adapters: PostgreSQL through a `pg` Pool (DATABASE_URL) and embedded PGlite in
 * DATA_DIR — same SQL dialect, so migrations and queries are written once.
 */
export abstract class Database implements Queryable {
  abstract readonly kind: 'postgres' | 'pglite';
  abstract query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  abstract exec(sql: string): Promise<void>;
  /** Runs fn in a transaction on one connection: commit when it resolves, roll back when it throws. */
  abstract transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  abstract poolStats(): PoolStats;
  abstract close(): Promise<void>;
  /** A human-readable name of the database (never the password), for logs and the destructive-test guard. */
  abstract readonly description: string;

  /**
   * Runs fn with every statement it issues (through this database or a transaction it opens) bounded by
   * timeoutMs instead of the default statement timeout: a search gets a tighter bound than an upload
   * without the repository knowing. Over the bound the statement fails with DatabaseTimeoutError.
   */
  withStatementTimeout<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    return statementScope.run({ timeoutMs }, fn);
  }

  /** The bound for a statement issued now: the innermost withStatementTimeout, else the default. */
  protected statementTimeoutMs(defaultMs: number): number {
    return statementScope.getStore()?.timeoutMs ?? defaultMs;
  }
}
