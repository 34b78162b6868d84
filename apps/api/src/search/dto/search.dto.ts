import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
} from 'class-validator';
import { ANSWER_KINDS, Answer, AnswerKind } from '../answer/answer.dto';
import { STORE_NAME } from './store.dto';
import { FILTER_DESCRIPTION } from '../filter/filter-doc';
import { MAX_FACETS } from '../filter/filter-queries';
import type { Metadata } from '../metadata/metadata';

const KEY = '[A-Za-z_][A-Za-z0-9_-]{0,63}';
export const FACETS_PATTERN = new RegExp(`^${KEY}(?:,${KEY}){0,${MAX_FACETS - 1}}$`);
export const FACET_KEY = new RegExp(`^${KEY}$`);
export const SORT_PATTERN = new RegExp(`^${KEY}:(?:asc|desc)$`);
const FACETS_DESCRIPTION = `Metadata keys to count values of over the whole match set (at most ${MAX_FACETS}; the 20 most frequent values each)`;
const SORT_DESCRIPTION =
  'key:asc or key:desc — order by a numeric or date metadata key (uploadedAt, bytes…) instead of relevance; ties and documents without it by relevance';

const NOT_BLANK = /\S/;
// The upper bounds are configuration, checked by the controller before any SQL (query-bounds.ts).
const QUERY_BOUNDS =
  'At most SEARCH_QUERY_MAX_CHARS characters (default 1000) and SEARCH_QUERY_MAX_TERMS words (default 32)';

export const SEARCH_GROUPS = ['documents', 'chunks'] as const;
export const SEARCH_MODES = ['lexical', 'semantic', 'hybrid'] as const;
/**
 * lexical: words (BM25 and the rules below); semantic: embeddings' cosine; hybrid: both fused (lexical's first
 * result kept first when it holds every query term, the rest by reciprocal rank: query/fusion.ts).
 */
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
    enum: ANSWER_KINDS,
    description:
      'extractive: the sentences of the top passages that hold the most query terms, cited; generate: a reply of the chat model configured by ANSWER_URL/ANSWER_MODEL from the top passages (503 ANSWER_UNAVAILABLE without one; server-sent events with Accept: text/event-stream)',
  })
  @IsOptional()
  @IsIn(ANSWER_KINDS, { message: 'answer must be extractive or generate' })
  answer?: AnswerKind;

  @ApiPropertyOptional({
    type: String,
    description: FILTER_DESCRIPTION,
    example: 'type = pdf AND tags = policy',
  })
  @IsOptional()
  @IsString()
  filter?: string;

  @ApiPropertyOptional({ type: String, description: SORT_DESCRIPTION, example: 'uploadedAt:desc' })
  @IsOptional()
  @IsString()
  @Matches(SORT_PATTERN, { message: 'sort must be <metadata key>:asc or <metadata key>:desc' })
  sort?: string;

  @ApiPropertyOptional({
    enum: SEARCH_MODES,
    description:
      "lexical, semantic or hybrid (both fused: lexical's first result stays first when it holds every query term, the rest by reciprocal rank fusion); default: hybrid when every passage of the store is embedded, else lexical. The response says which ran",
  })
  @IsOptional()
  @IsIn(SEARCH_MODES, { message: 'mode must be lexical, semantic or hybrid' })
  mode?: SearchMode;
}

/** GET /api/v1/search?store=&q=&limit=&offset=&group=&answer= */
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

  @ApiPropertyOptional({
    type: String,
    description: `${FACETS_DESCRIPTION}, comma-separated`,
    example: 'tags,type',
  })
  @IsOptional()
  @IsString()
  @Matches(FACETS_PATTERN, {
    message: `facets must be up to ${MAX_FACETS} comma-separated metadata keys`,
  })
  facets?: string;
}

/** POST /api/v1/search {store, query, limit, offset, group, answer} */
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

  @ApiPropertyOptional({ type: [String], description: FACETS_DESCRIPTION, example: ['tags', 'type'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_FACETS)
  @IsString({ each: true })
  @Matches(FACET_KEY, { each: true, message: 'each facet must be a metadata key' })
  facets?: string[];
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
  /** The document's metadata: the user's keys and Atrium's own. */
  metadata: Metadata;
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
  /** With `answer=`: the answer and its sources, or null when no passage (or no sentence) answers. */
  answer?: Answer | null;
  /** With `facets`: per key, value → documents (group=chunks: documents too) of the whole match set. */
  facets?: Record<string, Record<string, number>>;
}
