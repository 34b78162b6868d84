/** Messages between PgliteDatabase (the app's process) and pglite.worker.ts (the process running PGlite). */

export interface WorkerSetup {
  /** undefined = in memory (tests): a restarted worker starts empty. */
  dataDir?: string;
  /** Names of PGlite contrib extensions (`@electric-sql/pglite/contrib/<name>`). */
  extensions: string[];
  /** Postgres settings (`-c name=value`) added to PGlite's own start parameters: memory sizes. */
  settings: Record<string, string>;
}

export type WorkerRequest =
  | { id: number; op: 'setup'; setup: WorkerSetup }
  | { id: number; op: 'query'; sql: string; params: unknown[] }
  | { id: number; op: 'exec'; sql: string }
  | { id: number; op: 'close' };

export interface SerialisedError {
  message: string;
  /** SQLSTATE `code`, detail, constraint… as strings */
  fields: Record<string, string>;
}

export type WorkerReply =
  /** `initialised`: the data dir was empty and initdb ran (its memory is worth giving back). */
  | { op: 'ready'; ms: number; rssBytes: number; initialised: boolean }
  | { op: 'failed'; error: SerialisedError }
  | { op: 'result'; id: number; rows: Record<string, unknown>[]; affectedRows: number; rssBytes: number }
  | { op: 'error'; id: number; error: SerialisedError };
