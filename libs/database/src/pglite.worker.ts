/*
 * The PGlite worker process: the WASM Postgres runs here, never on the event loop that serves HTTP.
 * PgliteDatabase (in the app's process) sends one statement at a time over IPC and bounds it with a
 * timer; when a statement runs too long it kills this process and starts a new one on the same data
 * directory, where Postgres replays its WAL: what was committed stays, the open transaction is gone.
 * A process rather than a worker thread: its memory (a grown WASM heap, what initdb used) goes back to
 * the system when it ends, and its flags (heap limits, no optimising WASM compiler, a capped WASM heap:
 * given at spawn, see pgliteWorkerFlags) are its own.
 *
 * Loaded by path, so it has to run as it is in three places: compiled by tsc (dist, production) and with
 * Node's own type stripping (start:dev, tests). Hence only erasable TypeScript, `require` rather than
 * import statements (so Node never has to guess CommonJS or ESM), and no project imports except types.
 */
import type { PGlite as PGliteClass, PGliteOptions } from '@electric-sql/pglite';
import type { SerialisedError, WorkerReply, WorkerRequest, WorkerSetup } from './pglite.protocol';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- see the header: no import statements here
const { existsSync } = require('node:fs') as typeof import('node:fs');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see the header
const { join } = require('node:path') as typeof import('node:path');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see the header
const { PGlite } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');

type Extensions = NonNullable<PGliteOptions['extensions']>;

const EXTENSION_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const ERROR_FIELDS = [
  'code',
  'detail',
  'hint',
  'severity',
  'constraint',
  'table',
  'column',
  'schema',
  'where',
];

/** The fields of a Postgres error worth keeping across the process boundary (the SQLSTATE first). */
function serialise(err: unknown): SerialisedError {
  const e = (err ?? {}) as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const k of ERROR_FIELDS) if (typeof e[k] === 'string') fields[k] = e[k];
  return { message: typeof e.message === 'string' ? e.message : String(err), fields };
}

function loadExtensions(names: string[]): Extensions {
  const extensions: Extensions = {};
  for (const name of names) {
    if (!EXTENSION_NAME.test(name)) throw new Error(`invalid PGlite extension name "${name}"`);
    let mod: Record<string, unknown>;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the name comes from the module options
      mod = require(`@electric-sql/pglite/contrib/${name}`) as Record<string, unknown>;
    } catch {
      throw new Error(`PGlite has no contrib extension "${name}" (@electric-sql/pglite/contrib/${name})`);
    }
    if (!mod[name]) throw new Error(`@electric-sql/pglite/contrib/${name} does not export "${name}"`);
    extensions[name] = mod[name] as Extensions[string];
  }
  return extensions;
}

/** This process's resident memory (a WASM heap only grows): the app recycles a worker that grew large. */
function rssBytes(): number {
  return process.memoryUsage.rss();
}

function send(reply: WorkerReply): void {
  process.send?.(reply);
}

async function open(setup: WorkerSetup): Promise<PGliteClass> {
  const started = Date.now();
  const initialised = !setup.dataDir || !existsSync(join(setup.dataDir, 'PG_VERSION'));
  const db = new PGlite({
    dataDir: setup.dataDir,
    extensions: loadExtensions(setup.extensions),
    startParams: [
      ...PGlite.defaultStartParams,
      ...Object.entries(setup.settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
  });
  await db.waitReady;
  send({ op: 'ready', ms: Date.now() - started, rssBytes: rssBytes(), initialised });
  return db;
}

async function handle(db: PGliteClass, req: WorkerRequest): Promise<WorkerReply> {
  try {
    switch (req.op) {
      case 'query': {
        const r = await db.query<Record<string, unknown>>(req.sql, req.params);
        // as pg counts: the rows a SELECT returned, the rows a write touched
        const affectedRows = r.affectedRows || r.rows.length;
        return { op: 'result', id: req.id, rows: r.rows, affectedRows, rssBytes: rssBytes() };
      }
      case 'exec':
        await db.exec(req.sql);
        return { op: 'result', id: req.id, rows: [], affectedRows: 0, rssBytes: rssBytes() };
      case 'close':
        // A clean shutdown writes a checkpoint, so the next start has no WAL to replay.
        if (!db.closed) await db.close();
        return { op: 'result', id: req.id, rows: [], affectedRows: 0, rssBytes: rssBytes() };
      case 'setup':
        throw new Error('already set up');
    }
  } catch (err) {
    return { op: 'error', id: req.id, error: serialise(err) };
  }
}

if (process.send) {
  // Never outlive the app: when it goes (even killed), the IPC channel closes.
  process.on('disconnect', () => process.exit());
  let db: Promise<PGliteClass> | undefined;
  // One request at a time from the app; replies in order. The first one says what to open.
  process.on('message', (req: WorkerRequest) => {
    if (req.op === 'setup') {
      db = open(req.setup);
      db.catch((err: unknown) => {
        send({ op: 'failed', error: serialise(err) });
        process.exitCode = 1;
        process.disconnect();
      });
      return;
    }
    void db?.then(
      (open) => handle(open, req).then(send),
      () => undefined,
    );
  });
}
