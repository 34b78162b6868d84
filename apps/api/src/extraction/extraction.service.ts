import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { currentContext } from '@libs/observability';
import { AppConfig } from '@app/config';
import { LiveStatsRegistry } from '@app/metrics';
import { PoolMetrics } from '@app/metrics';
import {
  ExtractionPool,
  JobFailedError,
  PoolBusyError,
  PoolClosedError,
  WorkerKilledError,
} from './extraction-pool';
import { ExtractionBusyError, ExtractionError } from './extraction.errors';
import { ExtractionJobRegistry } from './extraction-jobs.registry';
import type { DocxJob, ExtractionJob, PdfJob } from './worker/protocol';
import {
  ArchiveLimits,
  ArchiveRefusal,
  ArchiveRefusalReason,
  inspectArchive,
  ZipFormatError,
} from './zip-directory';
import { childCommand } from './child-command';

/** Longest parser message passed on to a client (a feature's own error mapping keeps to it too). */
export const MAX_PARSER_MESSAGE = 300;

/**
 * Document parsing for every feature, in the extraction pool's child processes: PDF (unpdf), docx
 * (mammoth, after the zip checks), and xlsx, pptx, OpenDocument, EPUB and RTF (worker/parsers/, the zip-based
 * ones after the same checks) here, and the kinds features register (ExtractionModule.forFeature):
 * search's upload pipeline, the downloader's page conversions and crawl links (linkedom, Readability,
 * turndown). None of those parsers is ever loaded in the API process.
 */
@Injectable()
export class ExtractionService implements OnApplicationShutdown {
  private readonly logger = new Logger('Extraction');
  readonly pool: ExtractionPool;

  constructor(
    private readonly config: AppConfig,
    @InjectMetric('extraction_workers_killed_total') killed: Counter<'reason'>,
    live: LiveStatsRegistry,
    pools: PoolMetrics,
    private readonly registry: ExtractionJobRegistry,
  ) {
    const c = config.extraction;
    this.pool = new ExtractionPool({
      ...childCommand(__filename, 'worker/extraction.worker'),
      args: () => registry.modulePaths(),
      size: c.workers,
      heapMb: c.workerHeapMb,
      rssMb: c.workerRssMb,
      timeoutMs: c.timeoutMs,
      cpuMs: c.cpuMs,
      queueMax: c.queueMax,
      tenantShare: config.pools.tenantShare,
      idleMs: c.idleMs,
      onKill: (reason, info) => {
        killed.inc({ reason });
        this.logger.warn(
          { reason, pid: info.pid, stderr: info.stderr.trim().split('\n').slice(-3).join('\n') || undefined },
          `Parser child ${info.pid ?? ''} ended (${reason}); the next extraction starts a new one`,
        );
      },
    });
    live.registerPool('extraction', () => {
      const s = this.pool.stats();
      return { limit: s.size, active: s.busy, queued: s.queued };
    });
    live.registerSection('extraction', () => this.pool.stats());
    pools.register('extraction', this.pool.slots);
  }

  get archiveLimits(): ArchiveLimits {
    return this.config.extraction.zip;
  }

  /**
   * Judges a zip's central directory here, in the API process, without inflating anything (a few
   * microseconds per entry): ArchiveRefusal when a limit is passed, ExtractionError when unreadable.
   */
  inspectArchive(data: Buffer): void {
    try {
      inspectArchive(data, this.archiveLimits);
    } catch (err) {
      if (err instanceof ZipFormatError)
        throw new ExtractionError(
          'corrupt_archive',
          `The document is not a readable zip archive: ${err.message}`,
        );
      throw err;
    }
  }

  /**
   * Text of a PDF or docx (search uploads, and documents the downloader fetched). Throws ArchiveRefusal,
   * ExtractionError or ExtractionBusyError (503). `wait`: queue past EXTRACTION_QUEUE_MAX (batch jobs).
   */
  async documentText(kind: 'pdf' | 'docx', data: Buffer, opts: { wait?: boolean } = {}): Promise<string> {
    if (kind === 'pdf') return this.run<string, Omit<PdfJob, 'maxTextChars'>>({ kind, data }, opts);
    this.inspectArchive(data);
    return this.run<string, Omit<DocxJob, 'maxTextChars'>>({ kind, data, archive: this.archiveLimits }, opts);
  }

  /**
   * Runs a job of a registered kind (ExtractionModule.forFeature) in the pool, as the tenant of the request or
   * job running it (its log context), fairly with others; `maxTextChars` defaults to EXTRACTION_MAX_TEXT_CHARS.
   * `wait`: queue past EXTRACTION_QUEUE_MAX (callers whose own concurrency bounds how many wait). Throws
   * ArchiveRefusal, ExtractionError (the child was killed, a parser failed, the text was too long), the
   * feature's own errors for the names it mapped, or ExtractionBusyError (503).
   */
  async run<T, J extends { kind: string; maxTextChars?: number } = ExtractionJob>(
    job: J,
    opts: { wait?: boolean } = {},
  ): Promise<T> {
    const payload = { ...job, maxTextChars: job.maxTextChars ?? this.config.extraction.maxTextChars };
    try {
      return await this.pool.run<T>(payload, { wait: opts.wait, tenant: currentContext()?.tenantId });
    } catch (err) {
      throw this.translate(err);
    }
  }

  private translate(err: unknown): unknown {
    if (err instanceof WorkerKilledError)
      return new ExtractionError(err.reason, `The document could not be read: ${err.message}`);
    if (err instanceof PoolBusyError || err instanceof PoolClosedError)
      return new ExtractionBusyError(this.config.extraction.queueMax);
    if (err instanceof JobFailedError) {
      const { name, message, reason, details } = err.error;
      if (name === 'ArchiveRefusal')
        return new ArchiveRefusal(
          reason as ArchiveRefusalReason,
          message,
          details as Record<string, number | string>,
        );
      if (name === 'ZipFormatError')
        return new ExtractionError(
          'corrupt_archive',
          `The document is not a readable zip archive: ${message}`,
        );
      if (name === 'OutputTooLarge') return new ExtractionError('text_too_large', message);
      const registered = this.registry.translate(err.error);
      if (registered) return registered;
      return new ExtractionError(
        'parse_error',
        `The document could not be read: ${message.slice(0, MAX_PARSER_MESSAGE)}`,
      );
    }
    return err;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.close();
  }
}
