import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { ReadOptionsDto } from './read-options.dto';

/** The options batch and crawl jobs share, validated and documented once (Nest's applyDecorators). */

/** `timeoutPerUrlMs`: each URL's own deadline, 1–120 s, DOWNLOAD_TIMEOUT_MS when absent. */
export function TimeoutPerUrlMs(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ minimum: 1000, maximum: 120000, description: 'Default DOWNLOAD_TIMEOUT_MS' }),
    IsOptional(),
    IsInt(),
    Min(1000),
    Max(120000),
  );
}

/** A bounded list of path globs (crawl include/exclude): at most 20, each 1–200 characters. */
export function PathGlobs(description: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: [String], description }),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(20),
    IsString({ each: true }),
    MinLength(1, { each: true }),
    MaxLength(200, { each: true }),
  );
}

/**
 * `read`: how each page of the job is read (render, waitFor, waitMs, include, exclude, mainContent,
 * frontMatter), validated as a single download's query options; a failing option is named `read.<option>`.
 */
export function JobReadOptions(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: () => ReadOptionsDto,
      description:
        "How every page is read, as a single download's options (text, markdown, html, json; raw is the bytes)",
    }),
    IsOptional(),
    IsObject(),
    ValidateNested(),
    Type(() => ReadOptionsDto),
  );
}

/** `webhookUrl`: where the job's signed `<kind>.completed|failed|cancelled` event is POSTed when it ends. */
export function JobWebhookUrl(kind: 'batch' | 'crawl'): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      description: `POSTed a signed ${kind}.completed|failed|cancelled event when the job ends`,
    }),
    IsOptional(),
    IsString(),
    MinLength(1),
    MaxLength(8192),
  );
}
