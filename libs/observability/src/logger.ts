import pino, { Logger, LoggerOptions } from 'pino';
import { currentContext } from './request-context';
import { REDACT_PATHS } from './redaction';
import { LineBatch } from './line-batch';

export interface RootLoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  service: string;
  version: string;
  env: string;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

// weak: a logger that is gone takes its batch with it (tests build many apps in one process)
const batchesToFlushOnExit = new Set<WeakRef<LineBatch>>();

function flushBatchOnExit(batch: LineBatch): void {
  if (batchesToFlushOnExit.size === 0)
    process.once('exit', () => {
      for (const ref of batchesToFlushOnExit) {
        try {
          ref.deref()?.flushSync();
        } catch {
          // already closed: nothing more can be written
        }
      }
    });
  batchesToFlushOnExit.add(new WeakRef(batch));
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
  // Buffered writes: one write syscall per ~4 KiB of lines instead of one per line (the access log is
  // written for every request), and the lines of one event-loop turn handed over together (LineBatch:
  // SonicBoom re-measures its whole buffer on every write). A timer flushes a partly filled buffer so a
  // quiet service's lines are never more than 250 ms late; main.ts flushes on exit, and so does the
  // process's 'exit' (pino's own exit hook only knows SonicBoom's buffer, not the batch's).
  const destination = pino.destination({ sync: false, minLength: 4096 });
  const batch = new LineBatch(destination);
  flushBatchOnExit(batch);
  setInterval(() => {
    try {
      batch.flush();
    } catch {
      // not open yet, or already closed at exit: nothing to flush
    }
  }, 250).unref();
  return pino(options, batch);
}
