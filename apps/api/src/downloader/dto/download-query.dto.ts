import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
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
import { DownloadFormat, FORMATS, ReadOptions, RENDER_MODES, RenderMode } from '../formats';
import { IsCssSelector, MAX_SELECTOR_CHARS } from './css-selector.validator';

/** Longest extra wait after a rendered page's load (waitMs); the download's deadline still bounds it. */
export const MAX_WAIT_MS = 10_000;

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

  @ApiPropertyOptional({
    enum: RENDER_MODES,
    default: 'auto',
    description:
      'text, markdown, html, json: `always` loads the page in Chromium (URL policy on every request it makes, the ' +
      'PDF pool and limits) and reads the rendered DOM; `auto` does so when the served HTML is an app shell ' +
      '(little text, a script-built root) and Chromium is installed; `never` reads the HTML as served. ' +
      'X-Atrium-Render says what happened: rendered, static or unavailable',
  })
  @IsOptional()
  @IsIn(RENDER_MODES)
  render?: RenderMode;

  @ApiPropertyOptional({
    maxLength: MAX_SELECTOR_CHARS,
    description:
      'Rendered pages: wait until an element matches this CSS selector (within the download deadline)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_SELECTOR_CHARS)
  @IsCssSelector()
  waitFor?: string;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_WAIT_MS,
    description:
      'Rendered pages: milliseconds to wait after load (and after waitFor), within the download deadline',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_WAIT_MS)
  waitMs?: number;

  @ApiPropertyOptional({
    maxLength: MAX_SELECTOR_CHARS,
    description:
      'text, markdown, json: read only the elements this CSS selector matches (instead of the Readability article)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_SELECTOR_CHARS)
  @IsCssSelector()
  include?: string;

  @ApiPropertyOptional({
    maxLength: MAX_SELECTOR_CHARS,
    description: 'text, markdown, json: drop the elements this CSS selector matches (before anything else)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_SELECTOR_CHARS)
  @IsCssSelector()
  exclude?: string;

  @ApiPropertyOptional({
    type: Boolean,
    default: true,
    description:
      "text, markdown, json: false reads the whole page (scripts and styles aside), not Readability's article",
  })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  mainContent?: boolean;

  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description: 'markdown: start with YAML front matter holding the page metadata and its URL',
  })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  frontMatter?: boolean;
}
