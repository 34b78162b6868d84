import { DynamicModule, Module } from '@nestjs/common';
import { ExtractionFeature, ExtractionJobRegistry } from './extraction-jobs.registry';
import { EXTRACTION_METRICS } from './extraction.metrics';
import { ExtractionService } from './extraction.service';

/**
 * The parser pool shared by every feature (search uploads, the downloader's conversions and crawls): one pool
 * per process. A feature whose work runs in the pool imports `ExtractionModule.forFeature(...)` with its
 * handler module and error mapping (see ExtractionFeature); the extraction module itself only knows its own
 * kinds (pdf, docx).
 */
@Module({
  providers: [ExtractionService, ExtractionJobRegistry, ...EXTRACTION_METRICS],
  exports: [ExtractionService, ExtractionJobRegistry],
})
export class ExtractionModule {
  /**
   * The extraction module for a feature, with the feature's job kinds registered:
   * `imports: [ExtractionModule.forFeature({ jobs: require.resolve('./x.extraction-jobs'), errors: {...} })]`.
   */
  static forFeature(feature: ExtractionFeature): DynamicModule {
    return {
      module: ExtractionFeatureModule,
      imports: [ExtractionModule],
      providers: [
        {
          provide: `extraction feature ${feature.jobs}`,
          useFactory: (registry: ExtractionJobRegistry) => registry.add(feature),
          inject: [ExtractionJobRegistry],
        },
      ],
      exports: [ExtractionModule],
    };
  }
}

/** The module forFeature returns: one per feature, over the one ExtractionModule. */
@Module({})
class ExtractionFeatureModule {}
