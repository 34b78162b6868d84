import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@app/metrics/metrics.registry';
import { SearchRepository } from './search.repository';

export type UploadStatus = 'success' | 'rejected' | 'failure';
export type SearchCacheLabel = 'hit' | 'miss' | 'bypass';

// Counting rows on every scrape would cost a query per scrape per replica; a few seconds of staleness is fine.
const COUNTS_MAX_AGE_MS = 5000;

/** The search metrics of observability.md. No tenant label anywhere: tenants are unbounded. */
@Injectable()
export class SearchMetrics {
  private readonly uploads;
  private readonly uploadSize;
  private readonly uploadDuration;
  private readonly searches;
  private readonly searchDuration;
  private readonly resultsCount;
  private counts?: { at: number; value: Promise<{ stores: number; documents: number }> };

  constructor(metrics: MetricsRegistry, repository: SearchRepository) {
    this.uploads = metrics.counter({
      name: 'file_uploads_total',
      help: 'Uploaded files by outcome: success (stored), rejected (client problem), failure (server problem)',
      labelNames: ['status'],
    });
    this.uploadSize = metrics.histogram({
      name: 'file_upload_size_bytes',
      help: 'Size of uploaded files that were stored',
      buckets: [1024, 10240, 102400, 524288, 1048576, 5242880, 10485760, 20971520, 52428800],
    });
    this.uploadDuration = metrics.histogram({
      name: 'file_upload_duration_seconds',
      help: 'Time to receive, sniff, extract, chunk and store one uploaded file',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.searches = metrics.counter({
      name: 'search_requests_total',
      help: 'Search requests by outcome and cache status',
      labelNames: ['status', 'cache'],
    });
    this.searchDuration = metrics.histogram({
      name: 'search_duration_seconds',
      help: 'Search duration (store lookup, cache, query) by cache status',
      labelNames: ['cache'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.resultsCount = metrics.histogram({
      name: 'search_results_count',
      help: 'Results returned per search response',
      buckets: [0, 1, 2, 5, 10, 20, 50, 100],
    });
    // Every series exists from the start, so rates and alerts work before the first event.
    for (const status of ['success', 'rejected', 'failure']) this.uploads.inc({ status }, 0);
    for (const status of ['success', 'error'])
      for (const cache of ['hit', 'miss', 'bypass']) this.searches.inc({ status, cache }, 0);
    const current = (): Promise<{ stores: number; documents: number }> => {
      if (!this.counts || Date.now() - this.counts.at > COUNTS_MAX_AGE_MS) {
        const value = repository.counts();
        this.counts = { at: Date.now(), value };
        // A failed count must not stick for the whole max age.
        value.catch(() => (this.counts = undefined));
      }
      return this.counts.value;
    };
    metrics.gauge({
      name: 'search_stores',
      help: 'Search stores, all tenants',
      async collect() {
        const c = await current().catch(() => undefined);
        if (c) this.set(c.stores);
      },
    });
    metrics.gauge({
      name: 'search_documents',
      help: 'Documents in search stores, all tenants',
      async collect() {
        const c = await current().catch(() => undefined);
        if (c) this.set(c.documents);
      },
    });
  }

  upload(status: UploadStatus, seconds: number, bytes?: number): void {
    this.uploads.inc({ status });
    this.uploadDuration.observe(seconds);
    if (status === 'success' && bytes !== undefined) this.uploadSize.observe(bytes);
  }

  search(status: 'success' | 'error', cache: SearchCacheLabel, seconds: number, results?: number): void {
    this.searches.inc({ status, cache });
    this.searchDuration.observe({ cache }, seconds);
    if (results !== undefined) this.resultsCount.observe(results);
  }
}
