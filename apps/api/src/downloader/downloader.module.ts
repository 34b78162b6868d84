import { Inject, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { CacheModule } from '@libs/cache';
import { AppConfig } from '@app/config';
import { RedisMonitor } from '@app/redis';
import { ExtractionModule } from '@app/extraction';
import { LiveStatsRegistry } from '@app/metrics';
import { PoolMetrics } from '@app/metrics';
import { DOWNLOAD_CACHE_NAMESPACE, DownloadCache } from './download-cache';
import { DownloadController } from './download.controller';
import { DownloadService } from './download.service';
import { DownloaderHealthIndicator } from './downloader.health';
import { DOWNLOADER_METRICS, DownloaderMetrics } from './downloader.metrics';
import { JOB_RUNNER, JOB_STORE } from './downloader.tokens';
import { PinnedAgents } from './fetch/pinned-agents';
import { SafeFetcher } from './fetch/safe-fetcher';
import { Crawler } from './crawl/crawler';
import { DOWNLOADER_EXTRACTION } from './extraction/page-extraction';
import { BatchProcessor } from './jobs/batch-processor';
import { InProcessJobRunner } from './jobs/in-process-job.runner';
import type { JobRunner } from './jobs/job-runner';
import type { JobStore } from './jobs/job.types';
import { JobsController } from './jobs/jobs.controller';
import { JobsService } from './jobs/jobs.service';
import { MemoryJobStore } from './jobs/memory-job.store';
import { RedisJobStore } from './jobs/redis-job.store';
import { WebhookSender } from './jobs/webhook-sender';
import { PdfRenderer } from './pdf/pdf-renderer';
import { Politeness } from './politeness/politeness.service';
import { ROBOTS_CACHE_NAMESPACE, RobotsService } from './politeness/robots.service';
import { Resolver } from './url-policy/resolver';
import { UrlPolicy } from './url-policy/url-policy';

/**
 * Downloader: safe URL fetching (URL policy on every hop, pinned DNS), conversion to text, markdown,
 * html, json, raw or PDF, a content cache, and durable batch jobs with signed webhooks.
 */
@Module({
  imports: [
    ExtractionModule.forFeature(DOWNLOADER_EXTRACTION),
    CacheModule.forFeature({
      namespace: DOWNLOAD_CACHE_NAMESPACE,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        keyType: 'download',
        ttlMs: config.downloader.cacheTtlMs,
      }),
    }),
    CacheModule.forFeature({
      namespace: ROBOTS_CACHE_NAMESPACE,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ keyType: 'robots', ttlMs: config.downloader.robotsTtlMs }),
    }),
  ],
  controllers: [DownloadController, JobsController],
  providers: [
    Resolver,
    UrlPolicy,
    PinnedAgents,
    SafeFetcher,
    ...DOWNLOADER_METRICS,
    DownloaderMetrics,
    DownloaderHealthIndicator,
    DownloadCache,
    PdfRenderer,
    RobotsService,
    Politeness,
    DownloadService,
    WebhookSender,
    Crawler,
    BatchProcessor,
    JobsService,
    {
      provide: JOB_STORE,
      inject: [AppConfig, RedisMonitor],
      useFactory: (config: AppConfig, redis: RedisMonitor): JobStore =>
        config.redis.url
          ? new RedisJobStore(
              redis.watch('job store', new Redis(config.redis.url, { maxRetriesPerRequest: 2 })),
            )
          : new MemoryJobStore(),
    },
    {
      provide: JOB_RUNNER,
      inject: [AppConfig, BatchProcessor, PoolMetrics, RedisMonitor],
      useFactory: async (
        config: AppConfig,
        processor: BatchProcessor,
        pools: PoolMetrics,
        redis: RedisMonitor,
      ): Promise<JobRunner> => {
        const { batchWorkerConcurrency: concurrency, jobTtlMs } = config.downloader;
        const share = config.pools.tenantShare;
        if (!config.redis.url) {
          const runner = new InProcessJobRunner(processor, concurrency, share);
          pools.register('batch', runner.slots);
          return runner;
        }
        // loaded only with Redis: BullMQ is ~200 modules the embedded default never uses (its idle footprint)
        const { BullmqJobRunner } = await import('./jobs/bullmq-job.runner');
        const runner = new BullmqJobRunner(config.redis.url, processor, concurrency, {
          tenantShare: share,
          jobTtlMs,
          monitor: redis,
          // the wait is the queue's (shared by replicas); the slots in use are this replica's
          onStart: (waitedMs) => pools.waited('batch', waitedMs / 1000),
        });
        pools.registerInUse('batch', () => runner.slots.stats().active);
        return runner;
      },
    },
  ],
  exports: [UrlPolicy, SafeFetcher],
})
export class DownloaderModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly config: AppConfig,
    private readonly live: LiveStatsRegistry,
    private readonly metrics: DownloaderMetrics,
    private readonly processor: BatchProcessor,
    @Inject(JOB_STORE) private readonly store: JobStore,
  ) {}

  onModuleInit(): void {
    const batchLimit = this.config.downloader.batchWorkerConcurrency;
    this.metrics.poolLimit('batch', batchLimit);
    this.live.registerPool('batch', () => ({ limit: batchLimit, active: this.processor.activeCount }));
  }

  /** Runners stop in beforeApplicationShutdown; the store they write to closes after them. */
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
