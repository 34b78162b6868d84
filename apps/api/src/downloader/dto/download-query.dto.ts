import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { DownloadFormat, FORMATS, ReadOptions, RenderMode } from '../formats';
import {
  ExcludeSelectorOption,
  FrontMatterOption,
  IncludeSelectorOption,
  MainContentOption,
  RenderOption,
  WaitForOption,
  WaitMsOption,
} from './read-options.dto';

/** `true`/`false` (and 1/0) in a query string; anything else stays as given and fails IsBoolean. */
function queryBoolean({ value }: { value: unknown }): unknown {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return value;
}

export class DownloadQueryDto implements ReadOptions {
  @ApiProperty({ description: 'The URL to fetch (URL-encoded); its own query string is kept intact' })
  @IsString()
  @MinLength(1)
  @MaxLength(8192)
  url!: string;

  @ApiPropertyOptional({ enum: FORMATS, description: 'Default: negotiated from Accept, else text' })
  @IsOptional()
  @IsIn(FORMATS)
  format?: DownloadFormat;

  @RenderOption()
  render?: RenderMode;

  @WaitForOption()
  waitFor?: string;

  @WaitMsOption()
  @Type(() => Number)
  waitMs?: number;

  @IncludeSelectorOption()
  include?: string;

  @ExcludeSelectorOption()
  exclude?: string;

  @MainContentOption()
  @Transform(queryBoolean)
  mainContent?: boolean;

  @FrontMatterOption()
  @Transform(queryBoolean)
  frontMatter?: boolean;
}
