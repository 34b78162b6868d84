import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Counter } from 'prom-client';
import { currentContext } from '@libs/observability';
import { AppConfig } from '@app/config';
import { LiveStatsRegistry } from '@app/metrics/live-stats.registry';
import { PoolMetrics } from '@app/metrics/pool-metrics';
import {
  ExtractionPool,
  JobFailedError,
  PoolBusyError,
  PoolClosedError,
  WorkerKilledError,
} from './extraction-pool';
import { ValidationFailedError } from '@app/common/validation';
import { ExtractionBusyError, ExtractionError } from './extraction.errors';
import { DocumentRefusal, DocumentRefusalCode } from '@app/search/upload/document-refusal';
import type { ExtractionJob, PageReadOptions, PreparedDocumentMessage } from './worker/protocol';
import {
  ArchiveLimits,
  ArchiveRefusal,
  ArchiveRefusalReason,
  inspectArchive,
  ZipFormatError,
} from './zip-directory';

/** Longest parser message passed on to a client. */
const MAX_MESSAGE = 300;

/**
 * How to start the child: the compiled worker next to this file in dist; from source (Jest, the
 * @swc-node dev server) the .ts worker through the same TypeScript loader the parent runs under.
 */
export function workerCommand(): { entry: string; execArgv: string[]; env: Record<string, string> } {
  const fromSource = __filename.endsWith('.ts');
  const entry = join(__dirname, 'worker', `extraction.worker${fromSource ? '.ts' : '.js'}`);
  if (!fromSource) return { entry, execArgv: [], env: {} };
  let root = __dirname;
  while (!existsSync(join(root, 'tsconfig.json')) && dirname(root) !== root) root = dirname(root);
  return {
    entry,
    execArgv: ['-r', require.resolve('@swc-node/register')],
    env: { SWC_NODE_PROJECT: join(root, 'tsconfig.json') },
  };
}

/**
 * Document parsing for every feature (search uploads, downloader conversions), in the extraction pool's
 * child processes: PDF (unpdf), docx (mammoth, after the zip checks), HTML (linkedom, Readability,
 * turndown), and for search uploads xlsx, pptx, OpenDocument, EPUB and RTF (worker/parsers/, the zip-based
 * ones after the same checks). None of those parsers is ever loaded in the API process.
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
  ) {
    const c = config.extraction;
    this.pool = new ExtractionPool({
      ...workerCommand(),
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
    const maxTextChars = this.config.extraction.maxTextChars;
    if (kind === 'pdf') return this.run({ kind, data, maxTextChars }, opts.wait);
    this.inspectArchive(data);
    return this.run({ kind, data, archive: this.archiveLimits, maxTextChars }, opts.wait);
  }

  /**
   * A search upload's text and chunks, every type (plain text, CSV and JSON too): sniffed, decoded, parsed,
   * normalised and chunked in a child, under the same limits as any parser, so none of that work — which
   * grows with the file — runs on the API's event loop. Throws DocumentRefusal (415, empty), ArchiveRefusal,
   * ExtractionError or ExtractionBusyError (503).
   */
  prepareDocument(
    data: Buffer,
    filename: string,
    chunking: { chunkChars: number; chunkOverlapChars: number },
  ): Promise<PreparedDocumentMessage> {
    return this.run<PreparedDocumentMessage>({
      kind: 'document',
      data,
      filename,
      archive: this.archiveLimits,
      maxTextChars: this.config.extraction.maxTextChars,
      ...chunking,
    });
  }

  /** The visible text of an HTML document (search uploads). */
  htmlText(html: string): Promise<string> {
    return this.run({ kind: 'html-text', html, maxTextChars: this.config.extraction.maxTextChars });
  }

  /**
   * A page as text, markdown or json (downloader formats; json: the JSON text of `{title, text, metadata,
   * links, images}`), read as `opts.page` says. `wait`: queue past EXTRACTION_QUEUE_MAX (batch jobs, whose
   * own concurrency bounds how many wait). A selector the DOM library refuses: 400 VALIDATION_FAILED.
   */
  articleText(
    html: string,
    url: string,
    format: 'text' | 'markdown' | 'json',
    opts: { wait?: boolean; page?: PageReadOptions } = {},
  ): Promise<string> {
    return this.run(
      {
        kind: 'html-article',
        html,
        url,
        format,
        maxTextChars: this.config.extraction.maxTextChars,
        page: opts.page,
      },
      opts.wait,
    );
  }

  /** A crawl's page: its links, absolute and deduplicated, at most maxLinks (in the pool, queued like batch work). */
  async pageLinks(html: string, url: string, maxLinks: number): Promise<string[]> {
    const json = await this.run(
      { kind: 'page-links', html, url, maxLinks, maxTextChars: this.config.extraction.maxTextChars },
      true,
    );
    return JSON.parse(json) as string[];
  }

  /** A crawl's sitemap (or sitemap index): its <loc> URLs, at most maxLinks. */
  async sitemapUrls(xml: string, maxLinks: number): Promise<{ index: boolean; urls: string[] }> {
    const json = await this.run(
      { kind: 'sitemap', xml, maxLinks, maxTextChars: this.config.extraction.maxTextChars },
      true,
    );
    return JSON.parse(json) as { index: boolean; urls: string[] };
  }

  /** In the pool, as the tenant of the request or job running it (its log context), fairly with others. */
  private async run<T = string>(job: ExtractionJob, wait = false): Promise<T> {
    try {
      return await this.pool.run<T>(job, { wait, tenant: currentContext()?.tenantId });
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
      if (name === 'InvalidSelector' && typeof details?.field === 'string')
        return new ValidationFailedError({ [details.field]: [message.slice(0, MAX_MESSAGE)] });
      if (name === 'DocumentRefusal') return new DocumentRefusal(reason as DocumentRefusalCode, message);
      return new ExtractionError(
        'parse_error',
        `The document could not be read: ${message.slice(0, MAX_MESSAGE)}`,
      );
    }
    return err;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.close();
  }
}
