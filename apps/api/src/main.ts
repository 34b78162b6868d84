import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildConfig, ConfigValidationError } from './config';
import type { Logger } from 'pino';
import { createApp } from './bootstrap';

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

async function main(): Promise<void> {
  let config;
  try {
    config = buildConfig(process.env, packageVersion());
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      process.stderr.write(`atrium: refusing to start. ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const { app, shutdown, logger } = await createApp(config);
  if (config.auth.open)
    logger.warn(
      config.auth.disabled
        ? 'AUTH_DISABLED=true: the API is open to anyone who can reach it'
        : 'AUTH_API_KEYS is empty: the API runs open (local use only)',
    );
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info({ port: config.http.port, host: config.http.host }, 'Atrium listening');

  const onSignal = (signal: NodeJS.Signals): void => {
    const hardStop = setTimeout(() => {
      logger.error(
        `Shutdown took longer than SHUTDOWN_TIMEOUT_MS (${config.http.shutdownTimeoutMs} ms): exiting`,
      );
      exitAfterLogs(logger, 1);
    }, config.http.shutdownTimeoutMs);
    hardStop.unref();
    shutdown(signal).then(
      () => exitAfterLogs(logger, 0),
      (err: unknown) => {
        logger.error({ err }, 'Shutdown failed');
        exitAfterLogs(logger, 1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `atrium: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
