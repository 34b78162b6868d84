import { writeSync } from 'node:fs';
import pino, { Logger, LoggerOptions } from 'pino';
import { currentContext } from './request-context';
import { REDACT_PATHS } from './redaction';
import { LogThrottle } from './log-throttle';

export interface RootLoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  service: string;
  version: string;
  env: string;
  /** Where lines go; default the buffered stdout of `createLogDestination`. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

/** pino's buffered destination (SonicBoom), as `pino.destination` returns it. */
export type LogDestination = ReturnType<typeof pino.destination>;

export interface LogDestinationOptions {
  /** File descriptor the lines go to; default 1 (stdout). */
  fd?: number;
  /** Where a lost line is reported (it cannot go through the destination that lost it); default stderr. */
  report?: (message: string) => void;
  /** Bytes held while the descriptor does not keep up; past this, lines are dropped (and reported). */
  maxBufferedBytes?: number;
}

/** Bytes collected before one write: one write syscall per ~4 KiB of lines instead of one per line. */
export const LOG_MIN_WRITE_BYTES = 4096;
/** How late a line of a quiet service may be (a partly filled buffer is written this often). */
export const LOG_FLUSH_INTERVAL_MS = 250;
const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** At most one "lines lost" report per this interval; the next one counts what was lost meanwhile. */
const LOST_REPORT_INTERVAL_MS = 10_000;

function describe(err: (Error & { code?: unknown }) | undefined): string {
  if (!err) return '';
  return typeof err.code === 'string' ? `${err.code} (${err.message})` : err.message;
}

function toStderr(message: string): void {
  try {
    writeSync(2, message + '\n');
  } catch {
    // stderr is gone too: there is no channel left to say it on
  }
}

/**
 * The process's log destination: pino's own buffered one (`pino.destination` — SonicBoom — with its
 * documented `minLength`, `periodicFlush` and `maxLength` options). Lines are collected up to 4 KiB per
 * write (the access log writes a line per request); a partly filled buffer is written every 250 ms, by
 * SonicBoom's own timer, which it clears when the destination closes; pino flushes it at exit, and
 * main.ts flushes it (`logger.flush`) before exiting after a signal.
 *
 * A line is never lost without a trace: a write error (the descriptor closed, EPIPE, ENOSPC…) or lines
 * dropped because the descriptor did not keep up for 16 MiB are said on stderr, once per 10 s with what
 * was lost meanwhile — on the first occurrence at once.
 */
export function createLogDestination(opts: LogDestinationOptions = {}): LogDestination {
  const report = opts.report ?? toStderr;
  const destination = pino.destination({
    dest: opts.fd ?? 1,
    sync: false,
    minLength: LOG_MIN_WRITE_BYTES,
    periodicFlush: LOG_FLUSH_INTERVAL_MS,
    maxLength: opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
  });
  const throttle = new LogThrottle(LOST_REPORT_INTERVAL_MS);
  let errors = 0;
  let droppedBytes = 0;
  let lastError: Error | undefined;
  const say = (): void => {
    if (!throttle.allow()) return;
    const what = [
      errors > 0 ? `${errors} write error(s), last: ${describe(lastError)}` : '',
      droppedBytes > 0 ? `${droppedBytes} bytes of lines dropped (the descriptor did not keep up)` : '',
    ].filter(Boolean);
    errors = 0;
    droppedBytes = 0;
    report(`atrium: log lines lost on fd ${opts.fd ?? 1}: ${what.join('; ')}`);
  };
  // a listener of our own: without one, SonicBoom's 'error' would be thrown, or (EPIPE) pino's own
  // listener would stop all logging without a word
  destination.on('error', (err: Error) => {
    if (err === lastError) return; // pino's own listener emits a non-EPIPE error a second time
    errors++;
    lastError = err;
    say();
  });
  destination.on('drop', (data: string | Buffer) => {
    droppedBytes += Buffer.byteLength(data);
    say();
  });
  return destination;
}

/**
 * The process's root pino logger. Every line carries service/version/env, and — through the mixin —
 * the requestId and tenantId of the async context it was written in.
 */
export function createRootLogger(opts: RootLoggerOptions): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    base: { service: opts.service, version: opts.version, env: opts.env },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const ctx = currentContext();
      if (!ctx) return {};
      return ctx.tenantId
        ? { requestId: ctx.requestId, tenantId: ctx.tenantId }
        : { requestId: ctx.requestId };
    },
  };
  if (opts.destination) return pino(options, opts.destination);
  if (opts.format === 'pretty') {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        // colour codes only for a terminal: piped to a file or a log collector they would be noise
        options: {
          colorize: process.stdout.isTTY === true,
          translateTime: 'SYS:HH:MM:ss.l',
          singleLine: true,
        },
      },
    });
  }
  return pino(options, createLogDestination());
}

/** The fields of one access line (`request completed`). */
export interface AccessLine {
  requestId?: string;
  tenantId?: string;
  method: string;
  /** Route template (`/api/v1/buildings/:buildingId`), or `unmatched`. */
  route: string;
  /** Already masked (redactUrl). */
  url: string;
  status: number;
  /** ms, 2 decimals */
  duration: number;
  errorCode?: string;
}

/**
 * The access line writer: one `request completed` line per request through a pino child of the root
 * logger (same destination, bindings and level), `error` from 500 on, `info` below. The child is made
 * once, with `redact: []` (pino's documented way to drop the parent's redaction): every value of the
 * line is safe or already masked, and the wildcard paths cost ~15 µs per line.
 */
export function createAccessLog(logger: Logger): (line: AccessLine) => void {
  const access = logger.child({}, { redact: [] });
  return (l) => {
    if (l.status >= 500) access.error(l, 'request completed');
    else access.info(l, 'request completed');
  };
}
