import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { STORE_NAME } from './store.dto';

const NOT_BLANK = /\S/;
// The upper bounds are configuration, checked by the controller before any SQL (query-bounds.ts).
const QUERY_BOUNDS =
  'At most SEARCH_QUERY_MAX_CHARS characters (default 1000) and SEARCH_QUERY_MAX_TERMS words (default 32)';

class PageParams {
  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: 100, default: 10 })
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 10;

  @ApiPropertyOptional({ type: Number, minimum: 0, default: 0 })
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100000)
  offset: number = 0;
}

/** GET /api/v1/search?store=&q=&limit=&offset= */
export class SearchQueryParams extends PageParams {
  @ApiProperty({ type: String, example: 'handbook' })
  @IsString()
  @Matches(STORE_NAME, { message: 'store must match ^[a-z0-9][a-z0-9_-]{0,62}$' })
  store!: string;

  @ApiProperty({
    type: String,
    minLength: 1,
    maxLength: 1000,
    description: QUERY_BOUNDS,
    example: '"parental leave" OR sabbatical -draft',
  })
  @IsString()
  @MinLength(1)
  @Matches(NOT_BLANK, { message: 'q must not be blank' })
  q!: string;
}

/** POST /api/v1/search {store, query, limit, offset} */
export class SearchBody extends PageParams {
  @ApiProperty({ type: String, example: 'handbook' })
  @IsString()
  @Matches(STORE_NAME, { message: 'store must match ^[a-z0-9][a-z0-9_-]{0,62}$' })
  store!: string;

  @ApiProperty({ type: String, minLength: 1, maxLength: 1000, description: QUERY_BOUNDS })
  @IsString()
  @MinLength(1)
  @Matches(NOT_BLANK, { message: 'query must not be blank' })
  query!: string;
}

export interface SearchResultItem {
  documentId: string;
  filename: string;
  chunkIndex: number;
  score: number;
  snippet: string;
}

export interface SearchResponse {
  store: string;
  query: string;
  total: number;
  tookMs: number;
  results: SearchResultItem[];
}
