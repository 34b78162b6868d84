import { Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import { CacheModule } from '@libs/cache';
import { AppConfig } from '@app/config';
import { BuildingDirectoryClient } from './building-directory.client';
import { BuildingDirectoryController, BuildingWebhookController } from './building-directory.controller';
import { BuildingDirectoryHealthIndicator } from './building-directory.health';
import { BUILDING_DIRECTORY_METRICS, BuildingDirectoryMetrics } from './building-directory.metrics';
import { BUILDING_CACHE_NAMESPACE, BuildingDirectoryService } from './building-directory.service';
import { BUILDING_SOURCE } from './building-directory.tokens';
import type { BuildingSource } from './building.types';
import { BuildingWebhookService } from './building-webhook.service';
import { FileBuildingSource } from './sources/file-building.source';
import { WebhookRawBodyCapture } from './webhook-raw-body';
// required (not read from disk) so tsc emits the sample into dist and the default works after a build
import bundledSample from './data/sample-buildings.json';

/** Where AppConfig's default BUILDING_DIRECTORY_FILE points (config/…/../building-directory/data/…). */
const BUNDLED_SAMPLE_PATH = join(__dirname, 'data', 'sample-buildings.json');

@Module({
  imports: [
    CacheModule.forFeature({
      namespace: BUILDING_CACHE_NAMESPACE,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        keyType: 'building',
        enabled: config.buildingDirectory.cacheEnabled,
        ttlMs: config.buildingDirectory.cacheTtlMs,
        staleTtlMs: config.buildingDirectory.staleTtlMs,
        negativeTtlMs: config.buildingDirectory.negativeTtlMs,
      }),
    }),
  ],
  controllers: [BuildingDirectoryController, BuildingWebhookController],
  providers: [
    ...BUILDING_DIRECTORY_METRICS,
    BuildingDirectoryMetrics,
    {
      provide: BUILDING_SOURCE,
      inject: [AppConfig, BuildingDirectoryMetrics],
      useFactory: (config: AppConfig, metrics: BuildingDirectoryMetrics): BuildingSource => {
        const settings = config.buildingDirectory;
        const source = settings.url
          ? new BuildingDirectoryClient({ ...settings, url: settings.url }, metrics)
          : new FileBuildingSource(
              settings.file,
              settings.file === BUNDLED_SAMPLE_PATH ? bundledSample : undefined,
            );
        new Logger('BuildingDirectory').log(`Building source: ${source.description}`);
        if (!settings.webhookSecret)
          new Logger('BuildingDirectory').warn(
            'BUILDING_DIRECTORY_WEBHOOK_SECRET is unset: the change-feed webhook answers 404 WEBHOOK_NOT_CONFIGURED',
          );
        return source;
      },
    },
    BuildingDirectoryService,
    BuildingWebhookService,
    BuildingDirectoryHealthIndicator,
    WebhookRawBodyCapture,
  ],
  exports: [BuildingDirectoryService],
})
export class BuildingDirectoryModule implements OnApplicationShutdown {
  constructor(
    @Inject(BUILDING_SOURCE) private readonly source: BuildingSource & { close?: () => Promise<void> },
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.source.close?.();
  }
}
