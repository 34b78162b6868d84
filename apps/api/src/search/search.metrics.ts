import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import { counterProvider, gaugeProvider, histogramProvider } from '@app/metrics';
import type { FileRejection } from './search.errors';
import { SearchRepository } from './search.repository';

export type UploadStatus = 'success' | 'rejected' | 'failure';
export type SearchCacheLabel = 'hit' | 'miss' | 'bypass';
/** uploads_refused_total{reason}: files refused for what they are, before or instead of parsing. */
export const REFUSAL_REASONS = ['zip_ratio', 'zip_size', 'zip_entries', 'too_large', 'unsupported'] as const;
type RefusalReason = (typeof REFUSAL_REASONS)[number];

// Counting rows on every scrape would cost a query per scrape per replica; a few seconds of staleness is fine.
const COUNTS_MAX_AGE_MS = 5000;

/**
 * Store and document counts for the gauges below. Counting rows on every scrape would cost a query per
 * scrape per replica; a few seconds of staleness is fine.
 */
@Injectable()
export class SearchCounts {
  private counts?: { at: number; value: Promise<{ stores: number; documents: number }> };

  constructor(private readonly repository: SearchRepository) {}

  read(): Promise<{ stores: number; documents: number } | undefined> {
    if (!this.counts || Date.now() - this.counts.at > COUNTS_MAX_AGE_MS) {
      const value = this.repository.counts();
      this.counts = { at: Date.now(), value };
      // A failed count must not stick for the whole max age.
      value.catch(() => (this.counts = undefined));
    }
    return this.counts.value.catch(() => undefined);
  }
}

/** The search metrics of observability.md, declared as providers of SearchModule. No tenant label anywhere: tenants are unbounded. */
export const SEARCH_METRICS = [
  counterProvider({
    name: 'file_uploads_total',
    help: 'Uploaded files by outcome: success (stored), rejected (client problem), failure (server problem)',
    labelNames: ['status'],
    zeroes: { status: ['success', 'rejected', 'failure'] },
  }),
  counterProvider({
    name: 'uploads_refused_total',
    help: 'Uploaded files refused for their size or type: zip_ratio, zip_size, zip_entries (archive limits), too_large, unsupported',
    labelNames: ['reason'],
    zeroes: { reason: REFUSAL_REASONS },
  }),
  histogramProvider({
    name: 'file_upload_size_bytes',
    help: 'Size of uploaded files that were stored',
    buckets: [1024, 10240, 102400, 524288, 1048576, 5242880, 10485760, 20971520, 52428800],
  }),
  histogramProvider({
    name: 'file_upload_duration_seconds',
    help: 'Time to receive, sniff, extract, chunk and store one uploaded file',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  counterProvider({
    name: 'search_requests_total',
    help: 'Search requests by outcome and cache status',
    labelNames: ['status', 'cache'],
    zeroes: { status: ['success', 'error'], cache: ['hit', 'miss', 'bypass'] },
  }),
  histogramProvider({
    name: 'search_duration_seconds',
    help: 'Search duration (store lookup, cache, query) by cache status',
    labelNames: ['cache'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
  histogramProvider({
    name: 'search_results_count',
    help: 'Results returned per search response',
    buckets: [0, 1, 2, 5, 10, 20, 50, 100],
  }),
  gaugeProvider({
    name: 'search_stores',
    help: 'Search stores, all tenants',
    inject: [SearchCounts],
    async collect(counts: SearchCounts) {
      const c = await counts.read();
      if (c) this.set(c.stores);
    },
  }),
  gaugeProvider({
    name: 'search_documents',
    help: 'Documents in search stores, all tenants',
    inject: [SearchCounts],
    async collect(counts: SearchCounts) {
      const c = await counts.read();
      if (c) this.set(c.documents);
    },
  }),
];

/** Records uploads and searches. */
@Injectable()
export class SearchMetrics {
  constructor(
    @InjectMetric('file_uploads_total') private readonly uploads: Counter<'status'>,
    @InjectMetric('uploads_refused_total') private readonly refusals: Counter<'reason'>,
    @InjectMetric('file_upload_size_bytes') private readonly uploadSize: Histogram,
    @InjectMetric('file_upload_duration_seconds') private readonly uploadDuration: Histogram,
    @InjectMetric('search_requests_total') private readonly searches: Counter<'status' | 'cache'>,
    @InjectMetric('search_duration_seconds') private readonly searchDuration: Histogram<'cache'>,
    @InjectMetric('search_results_count') private readonly resultsCount: Histogram,
  ) {}

  upload(status: UploadStatus, seconds: number, bytes?: number): void {
    this.uploads.inc({ status });
    this.uploadDuration.observe(seconds);
    if (status === 'success' && bytes !== undefined) this.uploadSize.observe(bytes);
  }

  /** Counts a rejection in uploads_refused_total when it is one of the refusal reasons. */
  refused(rejection: FileRejection): void {
    let reason: RefusalReason | undefined;
    if (rejection.code === 'FILE_TOO_LARGE') reason = 'too_large';
    else if (rejection.code === 'UNSUPPORTED_MEDIA_TYPE') reason = 'unsupported';
    else if (rejection.code === 'ARCHIVE_REFUSED') {
      const r = rejection.details?.reason;
      reason = REFUSAL_REASONS.find((known) => known === r);
    }
    if (reason) this.refusals.inc({ reason });
  }

  search(status: 'success' | 'error', cache: SearchCacheLabel, seconds: number, results?: number): void {
    this.searches.inc({ status, cache });
    this.searchDuration.observe({ cache }, seconds);
    if (results !== undefined) this.resultsCount.observe(results);
  }
}
