import { Module } from '@nestjs/common';
import { EXTRACTION_METRICS } from './extraction.metrics';
import { ExtractionService } from './extraction.service';

/**
 * The parser pool shared by search (uploads) and the downloader (HTML conversions): one pool per
 * process, whichever feature imports it first.
 */
@Module({
  providers: [ExtractionService, ...EXTRACTION_METRICS],
  exports: [ExtractionService],
})
export class ExtractionModule {}
