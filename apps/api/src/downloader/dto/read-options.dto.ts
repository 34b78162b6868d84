import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ReadOptions, RENDER_MODES, RenderMode } from '../formats';
import { IsCssSelector, MAX_SELECTOR_CHARS } from './css-selector.validator';

/** Longest extra wait after a rendered page's load (waitMs); the download's deadline still bounds it. */
export const MAX_WAIT_MS = 10_000;

/**
 * The read options (issue 24) validated and documented once (Nest's applyDecorators): the single download's
 * query parameters and a batch's or crawl's `read` object use the same decorators. The query form adds its
 * string-to-boolean/number transforms beside them; a JSON body gives real booleans and numbers.
 */

export function RenderOption(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      enum: RENDER_MODES,
      default: 'auto',
      description:
        'text, markdown, html, json: `always` loads the page in Chromium (URL policy on every request it makes, the ' +
        'PDF pool and limits) and reads the rendered DOM; `auto` does so when the served HTML is an app shell ' +
        '(little text, a script-built root) and Chromium is installed; `never` reads the HTML as served. ' +
        'X-Atrium-Render (single downloads) says what happened: rendered, static or unavailable',
    }),
    IsOptional(),
    IsIn(RENDER_MODES),
  );
}

function Selector(description: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ maxLength: MAX_SELECTOR_CHARS, description }),
    IsOptional(),
    IsString(),
    MaxLength(MAX_SELECTOR_CHARS),
    IsCssSelector(),
  );
}

export function WaitForOption(): PropertyDecorator {
  return Selector(
    'Rendered pages: wait until an element matches this CSS selector (within the download deadline)',
  );
}

export function WaitMsOption(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      minimum: 0,
      maximum: MAX_WAIT_MS,
      description:
        'Rendered pages: milliseconds to wait after load (and after waitFor), within the download deadline',
    }),
    IsOptional(),
    IsInt(),
    Min(0),
    Max(MAX_WAIT_MS),
  );
}

export function IncludeSelectorOption(): PropertyDecorator {
  return Selector(
    'text, markdown, json: read only the elements this CSS selector matches (instead of the Readability article)',
  );
}

export function ExcludeSelectorOption(): PropertyDecorator {
  return Selector('text, markdown, json: drop the elements this CSS selector matches (before anything else)');
}

export function MainContentOption(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: Boolean,
      default: true,
      description:
        "text, markdown, json: false reads the whole page (scripts and styles aside), not Readability's article",
    }),
    IsOptional(),
    IsBoolean(),
  );
}

export function FrontMatterOption(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: Boolean,
      default: false,
      description: 'markdown: start with YAML front matter holding the page metadata and its URL',
    }),
    IsOptional(),
    IsBoolean(),
  );
}

/** A batch's or crawl's `read` object: how each of its pages is read, as a single download's query options. */
export class ReadOptionsDto implements ReadOptions {
  @RenderOption()
  render?: RenderMode;

  @WaitForOption()
  waitFor?: string;

  @WaitMsOption()
  waitMs?: number;

  @IncludeSelectorOption()
  include?: string;

  @ExcludeSelectorOption()
  exclude?: string;

  @MainContentOption()
  mainContent?: boolean;

  @FrontMatterOption()
  frontMatter?: boolean;
}
