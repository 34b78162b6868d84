import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { FeatureHealthIndicator } from '@app/health';
import { JOB_RUNNER, JOB_STORE } from './downloader.tokens';
import type { JobRunner } from './jobs/job-runner';
import type { JobStore } from './jobs/job.types';
import { PdfRenderer } from './pdf/pdf-renderer';

/** The job runner and store in use, the queue depth and whether PDF rendering is available; in /health only. */
@Injectable()
export class DownloaderHealthIndicator extends FeatureHealthIndicator {
  readonly key = 'downloader';

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    @Inject(JOB_RUNNER) private readonly runner: JobRunner,
    @Inject(JOB_STORE) private readonly store: JobStore,
    private readonly pdf: PdfRenderer,
  ) {
    super(indicators, config);
  }

  protected async check(): Promise<Record<string, unknown>> {
    return {
      jobRunner: this.runner.kind,
      jobStore: this.store.kind,
      queue: await this.runner.counts(),
      pdf: this.pdf.available() ? 'available' : 'unavailable',
    };
  }
}
