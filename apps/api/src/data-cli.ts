// Backup and restore of the embedded database (PGlite in DATA_DIR/pglite), with PGlite's documented
// dumpDataDir / loadDataDir (a tarball of the Postgres data folder):
//   npm run data:backup -- <file>    (in the image: node dist/apps/api/src/data-cli.js backup <file>)
//   npm run data:restore -- <file>   (…/data-cli.js restore <file>)
// Both take the data folder's lock (DataDirLock, as the service does), so they refuse while Atrium runs on
// that folder, and the service cannot start while they work. A restore never deletes: the folder it
// replaces is moved aside (pglite.before-restore-<time>). Not for DATABASE_URL (use pg_dump / pg_restore).
import './node-version';
import { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { DataDirLock, DataDirLockedError } from '@libs/database/data-dir-lock';

const USAGE = 'usage: data-cli backup <file> | data-cli restore <file>   (npm run data:backup -- <file>)';

/** What the app loads into PGlite (app.module.ts): the catalog of a restored folder refers to it. */
type Extension = NonNullable<PGliteOptions['extensions']>[string];
// a package export path the project's moduleResolution cannot type (the PGlite worker loads it alike)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm') as { pg_trgm: Extension };
const EXTENSIONS = { pg_trgm };

class CliError extends Error {}

function dataDir(): string {
  const raw = process.env.DATA_DIR || './data';
  return isAbsolute(raw) ? raw : resolve(raw);
}

async function backup(dir: string, file: string): Promise<string> {
  const pgdata = join(dir, 'pglite');
  if (!existsSync(join(pgdata, 'PG_VERSION'))) throw new CliError(`no embedded database in ${pgdata}`);
  if (existsSync(file)) throw new CliError(`${file} exists: give a new file name`);
  const db = new PGlite({ dataDir: pgdata, extensions: EXTENSIONS });
  try {
    await db.waitReady;
    const dump = await db.dumpDataDir('gzip');
    writeFileSync(file, Buffer.from(await dump.arrayBuffer()), { flag: 'wx' });
    return `backed up ${pgdata} to ${file} (${dump.size} bytes)`;
  } finally {
    await db.close();
  }
}

async function restore(dir: string, file: string): Promise<string> {
  if (!existsSync(file)) throw new CliError(`${file} does not exist`);
  const pgdata = join(dir, 'pglite');
  let aside: string | undefined;
  if (existsSync(pgdata) && readdirSync(pgdata).length > 0) {
    aside = `${pgdata}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(pgdata, aside);
  }
  const db = new PGlite({
    dataDir: pgdata,
    extensions: EXTENSIONS,
    loadDataDir: new Blob([readFileSync(file)]),
  });
  try {
    await db.waitReady;
    await db.query('SELECT 1');
  } finally {
    await db.close();
  }
  return `restored ${file} into ${pgdata}` + (aside ? `; the folder it replaced is now ${aside}` : '');
}

async function main(argv: string[]): Promise<void> {
  const [command, file] = argv;
  if ((command !== 'backup' && command !== 'restore') || !file) throw new CliError(USAGE);
  if (process.env.DATABASE_URL)
    throw new CliError('DATABASE_URL is set: back up PostgreSQL with pg_dump and restore with pg_restore');
  const dir = dataDir();
  const path = resolve(file);
  const lock = DataDirLock.acquire(dir);
  try {
    const done = command === 'backup' ? await backup(dir, path) : await restore(dir, path);
    process.stdout.write(`atrium: ${done}\n`);
  } finally {
    lock.release();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message =
    err instanceof CliError || err instanceof DataDirLockedError
      ? err.message
      : err instanceof Error
        ? (err.stack ?? err.message)
        : String(err);
  process.stderr.write(`atrium: ${message}\n`);
  process.exit(1);
});
