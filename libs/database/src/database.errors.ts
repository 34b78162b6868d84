/**
 * Database failures a caller can do something about, with stable codes the app maps to HTTP answers
 * (503 with Retry-After): the library does not know HTTP, the app's exception filter does.
 */
export type DatabaseAdapterName = 'pg' | 'pglite';

/**
 * A statement ran past its bound and was stopped: `statement_timeout` (SQLSTATE 57014) or the client-side
 * read bound on Postgres; on PGlite the worker thread was terminated (and is restarted on the same data).
 * `phase: 'queue'` = it never ran: the single PGlite session stayed busy longer than the bound.
 */
export class DatabaseTimeoutError extends Error {
  readonly code = 'DATABASE_TIMEOUT';
  constructor(
    readonly adapter: DatabaseAdapterName,
    readonly timeoutMs: number,
    readonly phase: 'statement' | 'queue' = 'statement',
  ) {
    super(
      phase === 'queue'
        ? `The database stayed busy for ${timeoutMs} ms; the statement was not run`
        : `A database statement ran longer than ${timeoutMs} ms and was stopped`,
    );
    this.name = 'DatabaseTimeoutError';
  }
}

/** The database cannot run statements right now (worker starting, crashed, closing). */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(reason: string) {
    super(`The database is unavailable: ${reason}`);
    this.name = 'DatabaseUnavailableError';
  }
}

/** A Postgres error raised inside the PGlite worker, with its SQLSTATE and fields as `pg` has them. */
export class PgliteError extends Error {
  code?: string;
  detail?: string;
  hint?: string;
  severity?: string;
  constraint?: string;
  table?: string;
  column?: string;
  schema?: string;
  where?: string;
  constructor(message: string, fields: Record<string, string>) {
    super(message);
    this.name = 'PgliteError';
    Object.assign(this, fields);
  }
}

/** SQLSTATE 57014 query_canceled: what statement_timeout (and a cancel request) raises. */
export function isStatementTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '57014';
}

/**
 * The database could not be opened at startup (the embedded worker did not start on its folder, or the
 * schema could not be brought up to date): `description` says which database (`pglite:<folder>`, or the
 * Postgres URL without its password), `cause` what went wrong.
 */
export class DatabaseOpenError extends Error {
  constructor(
    readonly adapter: 'postgres' | 'pglite',
    readonly description: string,
    cause: unknown,
  ) {
    super(
      `could not open the database (${description}): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'DatabaseOpenError';
  }
}
