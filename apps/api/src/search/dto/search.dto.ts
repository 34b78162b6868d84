import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { STORE_NAME } from './store.dto';

const NOT_BLANK = /\S/;
// The upper bounds are configuration, checked by the controller before any SQL (query-bounds.ts).
const QUERY_BOUNDS =
  'At most SEARCH_QUERY_MAX_CHARS characters (default 1000) and SEARCH_QUERY_MAX_TERMS words (default 32)';

export const SEARCH_GROUPS = ['documents', 'chunks'] as const;
export const SEARCH_MODES = ['lexical', 'semantic', 'hybrid'] as const;
/** lexical: words (BM25 and the rules below); semantic: embeddings' cosine; hybrid: both fused by RRF. */
export type SearchMode = (typeof SEARCH_MODES)[number];
export type SearchGroup = (typeof SEARCH_GROUPS)[number];
/** `all`: every result holds every term; `relaxed`: too few did, so results holding fewer were added. */
export type SearchMatching = 'all' | 'relaxed';

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

  @ApiPropertyOptional({
    enum: ['documents', 'chunks'],
    default: 'documents',
    description: 'documents: one result per document with its best passages; chunks: one per matching chunk',
  })
  @IsOptional()
  @IsIn(SEARCH_GROUPS, { message: 'group must be documents or chunks' })
  group: SearchGroup = 'documents';

  @ApiPropertyOptional({
    enum: SEARCH_MODES,
    description:
      'lexical, semantic or hybrid (reciprocal rank fusion of both); default: hybrid when every passage of the store is embedded, else lexical. The response says which ran',
  })
  @IsOptional()
  @IsIn(SEARCH_MODES, { message: 'mode must be lexical, semantic or hybrid' })
  mode?: SearchMode;
}

/** GET /api/v1/search?store=&q=&limit=&offset=&group= */
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

/** POST /api/v1/search {store, query, limit, offset, group} */
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
  /** 0–1; results are in descending order of it. */
  score: number;
  /** The query terms (words or phrases, as typed, lower-cased) this result holds. */
  matchedTerms: string[];
  /** HTML: everything escaped, hits in <mark>; the best passage first. */
  snippets: string[];
  /** The chunk of the best passage (group=chunks: the chunk itself). */
  chunkIndex: number;
  /** Semantic and hybrid modes: the cosine similarity of the query and the result's best passage, when it was among the nearest. */
  similarity?: number;
}

export interface SearchResponse {
  store: string;
  query: string;
  /** Documents (group=chunks: chunks) matching, relaxation included. */
  total: number;
  tookMs: number;
  matching: SearchMatching;
  /** The mode that ran. */
  mode: SearchMode;
  results: SearchResultItem[];
}
