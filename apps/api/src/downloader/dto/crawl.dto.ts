import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { JobReadOptions, PathGlobs, TimeoutPerUrlMs, JobWebhookUrl } from './job-options.decorators';
import { ReadOptionsDto } from './read-options.dto';

export const CRAWL_FORMATS = ['text', 'markdown', 'html', 'json', 'raw'] as const;
export type CrawlFormat = (typeof CRAWL_FORMATS)[number];
export const CRAWL_MAX_DEPTH = 20;

/** POST /api/v1/crawl: one site's pages as a job with the batch job's routes. */
export class CrawlRequestDto {
  @ApiProperty({
    description: 'Where the crawl starts; only pages of the same site (host, with or without www.) follow',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(8192)
  url!: string;

  @ApiPropertyOptional({
    minimum: 1,
    default: 50,
    description: 'Pages fetched at most (1..CRAWL_MAX_PAGES, default 500); the start page counts',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100000) // the configured CRAWL_MAX_PAGES is checked by the service
  maxPages?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: CRAWL_MAX_DEPTH,
    default: 3,
    description: 'Links followed from the start page at most (0: the start page and the sitemap only)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(CRAWL_MAX_DEPTH)
  maxDepth?: number;

  @PathGlobs('Path globs (e.g. "/docs/**"): when given, only pages whose path matches one are fetched')
  include?: string[];

  @PathGlobs('Path globs of pages never fetched (e.g. "/private/**")')
  exclude?: string[];

  @ApiPropertyOptional({
    default: true,
    description: "Also read /sitemap.xml and robots.txt's Sitemap: lines for pages",
  })
  @IsOptional()
  @IsBoolean()
  sitemap?: boolean;

  @ApiPropertyOptional({
    enum: CRAWL_FORMATS,
    default: 'markdown',
    description: 'Each page’s format in the results',
  })
  @IsOptional()
  @IsIn(CRAWL_FORMATS)
  format?: CrawlFormat;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 10,
    default: 4,
    description: 'Pages of this crawl fetched at once',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  concurrency?: number;

  @TimeoutPerUrlMs()
  timeoutPerUrlMs?: number;

  @JobReadOptions()
  read?: ReadOptionsDto;

  @JobWebhookUrl('crawl')
  webhookUrl?: string;
}
