import type { Histogram } from 'prom-client';

const OP =
  /^\s*(?:with\b[\s\S]*?\)\s*)?(select|insert|update|delete|create|alter|drop|truncate|begin|commit|rollback)/i;
const TABLE = /\b(?:from|into|update|table(?:\s+if\s+(?:not\s+)?exists)?|join)\s+("?[a-z_][a-z0-9_]*"?)/i;

export type DbOperation = 'select' | 'insert' | 'update' | 'delete' | 'ddl' | 'other';

/** Bounded labels for db_query_duration_seconds: the statement kind and the first table it names. */
export function classifyQuery(sql: string): { operation: DbOperation; table: string } {
  const op = OP.exec(sql)?.[1]?.toLowerCase();
  const operation: DbOperation =
    op === 'select' || op === 'insert' || op === 'update' || op === 'delete'
      ? op
      : op === 'create' || op === 'alter' || op === 'drop' || op === 'truncate'
        ? 'ddl'
        : 'other';
  const table = TABLE.exec(sql)?.[1]?.replace(/"/g, '').toLowerCase() ?? 'none';
  return { operation, table };
}

/** Wraps a query function so every statement is timed — instrumented once, at the seam. */
export function timed<T>(
  histogram: Histogram<'operation' | 'table'> | undefined,
  sql: string,
  run: () => Promise<T>,
): Promise<T> {
  if (!histogram) return run();
  const end = histogram.startTimer(classifyQuery(sql));
  return run().finally(() => end());
}
