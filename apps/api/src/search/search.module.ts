import multipart from '@fastify/multipart';
import { Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { CacheModule } from '@libs/cache';
import { DatabaseModule } from '@libs/database';
import { AppConfig } from '@app/config';
import { ExtractionModule } from '@app/extraction';
import { ANSWER_METRICS, AnswerMetrics } from './answer/answer.metrics';
import { AnswerRepository } from './answer/answer.repository';
import { AnswerService } from './answer/answer.service';
import { DocumentsController } from './documents.controller';
import { DocumentsService } from './documents.service';
import { SEARCH_MIGRATIONS } from './migrations';
import { SearchController } from './search.controller';
import { SearchHealthIndicator } from './search.health';
import { SEARCH_METRICS, SearchCounts, SearchMetrics } from './search.metrics';
import { SearchRepository } from './search.repository';
import { SEARCH_CACHE_NAMESPACE, SearchService } from './search.service';
import { StoreAdminController } from './store-admin.controller';
import { StoreAdminRepository } from './store-admin.repository';
import { StoreAdminService } from './store-admin.service';
import { StoresController } from './stores.controller';
import { StoresService } from './stores.service';
import { SEARCH_EXTRACTION } from './upload/extract';
import { UploadBudget } from './upload/upload-budget';
import { PoolMetrics } from '@app/metrics';
import { EmbeddingIndexer } from './embeddings/embedding-indexer';
import { EmbeddingRepository } from './embeddings/embedding.repository';
import { VectorIndex } from './embeddings/vector-index';
import {
  EMBEDDING_CACHE_NAMESPACE,
  EMBEDDING_METRICS,
  EmbeddingsService,
} from './embeddings/embeddings.service';

/**
 * Plugs search into the app before it listens: @fastify/multipart on the Fastify instance (limits are
 * set per request by the upload reader) and the `search` check in /health (not readiness: the
 * database itself already is).
 */
@Injectable()
class SearchSetup implements OnModuleInit {
  private readonly logger = new Logger('Search');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Another feature may have registered it already; the plugin may only be registered once.
    if (!fastify.hasContentTypeParser('multipart/form-data')) {
      const { maxFiles, maxFileBytes } = this.config.search;
      await fastify.register(multipart, {
        limits: { fileSize: maxFileBytes, files: maxFiles, fields: 20, parts: maxFiles + 20 },
      });
    }
    this.logger.log(
      `Search ready: ${this.config.search.maxFiles} files of ${this.config.search.maxFileBytes} bytes per upload, ` +
        `chunks of ${this.config.search.chunkChars} chars (overlap ${this.config.search.chunkOverlapChars})`,
    );
  }
}

@Module({
  imports: [
    DatabaseModule.forFeature({ migrations: SEARCH_MIGRATIONS }),
    ExtractionModule.forFeature(SEARCH_EXTRACTION),
    CacheModule.forFeature({
      namespace: SEARCH_CACHE_NAMESPACE,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        keyType: 'search',
        ttlMs: config.search.cacheTtlMs,
      }),
    }),
    // query vectors (per tenant, model and normalised query): a repeated question skips the model
    CacheModule.forFeature({
      namespace: EMBEDDING_CACHE_NAMESPACE,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ keyType: 'embedding', ttlMs: config.search.cacheTtlMs }),
    }),
  ],
  controllers: [StoresController, StoreAdminController, DocumentsController, SearchController],
  providers: [
    SearchRepository,
    EmbeddingRepository,
    VectorIndex,
    ...EMBEDDING_METRICS,
    EmbeddingsService,
    EmbeddingIndexer,
    SearchCounts,
    ...SEARCH_METRICS,
    SearchMetrics,
    StoresService,
    StoreAdminRepository,
    StoreAdminService,
    {
      provide: UploadBudget,
      inject: [AppConfig, PoolMetrics],
      useFactory: (config: AppConfig, pools: PoolMetrics) => {
        const budget = new UploadBudget({
          budgetBytes: config.search.uploadMemoryBudgetBytes,
          waitMs: config.search.uploadMemoryWaitMs,
          maxFileBytes: config.search.maxFileBytes,
          tenantShare: config.pools.tenantShare,
        });
        // pool_wait_seconds{pool="upload_memory"}; pool_in_use{pool="upload_memory"} in reserved MiB
        pools.registerInUse('upload_memory', () => budget.reservedBytes / 1024 / 1024);
        budget.onWait = (waitedMs) => pools.waited('upload_memory', waitedMs / 1000);
        return budget;
      },
    },
    DocumentsService,
    SearchService,
    ...ANSWER_METRICS,
    AnswerMetrics,
    AnswerRepository,
    AnswerService,
    SearchHealthIndicator,
    SearchSetup,
  ],
})
export class SearchModule {}
