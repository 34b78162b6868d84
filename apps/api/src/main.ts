// First, before Nest or any dependency is loaded: an old Node.js gets one line saying which one is needed.
import './node-version';
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { DataDirLock, DataDirLockedError } from '@libs/database/data-dir-lock';
import { DatabaseOpenError } from '@libs/database/database.errors';
import { AppConfig, buildConfig, ConfigValidationError } from './config';

/** The version from the nearest package.json above this file (source tree or dist/ alike). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      // not here: look one level up
    }
  }
  return '0.0.0';
}

/**
 * Exits once the log destination has written what it holds (pino's flush is asynchronous: exiting right
 * after it could drop the last lines, a write already under way at exit included); after 2 s regardless.
 */
function exitAfterLogs(logger: Logger, code: number): void {
  process.exitCode = code;
  const exit = (): never => process.exit(code);
  setTimeout(exit, 2000).unref();
  logger.flush(exit);
}

/** Resolves when host:port can be bound now (it is released again at once); rejects with the reason. */
function checkPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** Set once the service listens: an exit before that without an error said is reported (never a silent 0). */
let started = false;
/** The data folder, for the messages of a failed start (the configured one once known). */
let dataDirForErrors = process.env.DATA_DIR ?? './data';

/**
 * The order matters (issue 20): the Node.js check (the first import), the configuration, the lock on the
 * embedded database's folder, the port — and only then the app, which opens the database. A second start
 * on the same DATA_DIR is refused before it can touch the data, and a port in use is found before the
 * database is opened, not after.
 */
async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = buildConfig(process.env, packageVersion());
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      process.stderr.write(`atrium: refusing to start. ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  dataDirForErrors = config.dataDir;
  // The embedded database is single-writer: one process per DATA_DIR (PostgreSQL itself guards its own).
  let lock: DataDirLock | undefined;
  if (!config.database.url) {
    try {
      lock = DataDirLock.acquire(config.dataDir);
    } catch (err) {
      if (err instanceof DataDirLockedError) {
        process.stderr.write(`atrium: refusing to start: ${err.message}\n`);
        process.exit(75); // EX_TEMPFAIL: try again once the other process has stopped
      }
      throw err;
    }
  }
  if (config.http.port !== 0) {
    try {
      await checkPortFree(config.http.host, config.http.port);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      process.stderr.write(
        `atrium: refusing to start: cannot listen on ${config.http.host}:${config.http.port} ` +
          `(${code === 'EADDRINUSE' ? 'the port is in use by another process' : (err as Error).message}); ` +
          `set PORT (or HOST) to a free one. The data in ${config.dataDir} was not opened.\n`,
      );
      process.exit(1);
    }
  }
  // Nest and every module load only now: a refused start above answered at once.
  const { createApp } = await import('./bootstrap');
  const { app, shutdown, logger } = await createApp(config);
  if (lock?.recovered)
    logger.warn(
      { dataDir: config.dataDir, staleLock: lock.recovered },
      `Took over a stale lock on ${config.dataDir} (${lock.recovered}): the previous process did not stop cleanly`,
    );
  if (config.auth.open)
    logger.warn(
      config.auth.disabled
        ? 'AUTH_DISABLED=true: the API is open to anyone who can reach it'
        : 'AUTH_API_KEYS is empty: the API runs open (local use only)',
    );
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info({ port: config.http.port, host: config.http.host }, 'Atrium listening');
  started = true;

  const onSignal = (signal: NodeJS.Signals): void => {
    const hardStop = setTimeout(() => {
      logger.error(
        `Shutdown took longer than SHUTDOWN_TIMEOUT_MS (${config.http.shutdownTimeoutMs} ms): exiting`,
      );
      exitAfterLogs(logger, 1);
    }, config.http.shutdownTimeoutMs);
    hardStop.unref();
    shutdown(signal).then(
      () => {
        lock?.release();
        exitAfterLogs(logger, 0);
      },
      (err: unknown) => {
        logger.error({ err }, 'Shutdown failed');
        exitAfterLogs(logger, 1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/**
 * The one line a database that could not be opened at startup gets: which one, what went wrong, what to
 * do (the embedded folder: restore a backup or move it aside; Postgres: the DATABASE_URL database).
 */
function databaseOpenMessage(err: DatabaseOpenError, dataDir: string): string {
  const cause = err.cause as { message?: string; code?: string } | undefined;
  const why = cause?.message ?? String(err.cause);
  if (err.adapter === 'pglite')
    return (
      `cannot open the embedded database in ${join(dataDir, 'pglite')}: ${why}. To recover: restore a backup ` +
      `(npm run data:restore -- <file>), or move ${dataDir} aside to start empty; see the README, ` +
      `"Embedded data: backup, restore, recovery"`
    );
  if (cause?.code === '3D000')
    return `the DATABASE_URL database does not exist (${err.description}): create it (createdb) or fix DATABASE_URL`;
  return `cannot use the DATABASE_URL database (${err.description}): ${why}`;
}

// The event loop ran empty before the service listened (something awaited forever): say so, and fail.
process.on('beforeExit', () => {
  if (started) return;
  process.stderr.write(
    `atrium: stopped before it was ready (nothing left to do while starting; DATA_DIR ${dataDirForErrors})\n`,
  );
  process.exit(1);
});

main().catch((err: unknown) => {
  process.stderr.write(
    err instanceof DatabaseOpenError
      ? `atrium: failed to start: ${databaseOpenMessage(err, dataDirForErrors)}\n`
      : `atrium: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
