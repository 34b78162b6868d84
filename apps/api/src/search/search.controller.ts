import { Body, Controller, Get, HttpCode, Post, Query, Req, Res, UseInterceptors } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CacheInterceptor, CacheNamespace } from '@libs/cache';
import { TenantId } from '@app/auth';
import { API_V1 } from '@app/routes';
import { AppConfig } from '@app/config';
import { RateLimit } from '@app/rate-limit';
import { AnswerKind } from './answer/answer.dto';
import { AnswerService } from './answer/answer.service';
import { eventStream, wantsEventStream } from './answer/event-stream';
import { SearchBody, SearchQueryParams, SearchResponse } from './dto/search.dto';
import { checkQueryBounds, SearchQueryLimits } from './query-bounds';
import { SEARCH_CACHE_NAMESPACE, SearchRequest, SearchService } from './search.service';
import { SortSpec } from './filter/filter-queries';

/** `key:asc` / `key:desc` (already matched against SORT_PATTERN by the DTO). */
function sortSpec(sort: string | undefined): SortSpec | undefined {
  if (!sort) return undefined;
  const at = sort.lastIndexOf(':');
  return { key: sort.slice(0, at), direction: sort.slice(at + 1) === 'desc' ? 'desc' : 'asc' };
}

@ApiTags('search')
@Controller(`${API_V1}/search`)
@RateLimit('search')
@ApiHeader({ name: 'Cache-Control', required: false, description: 'no-cache skips the cached result' })
export class SearchController {
  private readonly limits: SearchQueryLimits;

  constructor(
    private readonly search: SearchService,
    private readonly answers: AnswerService,
    config: AppConfig,
  ) {
    this.limits = { maxChars: config.search.queryMaxChars, maxTerms: config.search.queryMaxTerms };
  }

  @Get()
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace(SEARCH_CACHE_NAMESPACE)
  @ApiOkResponse({
    description:
      '{store, query, total, tookMs, matching: all|relaxed, mode: lexical|semantic|hybrid, results:[{documentId, filename, score, matchedTerms, snippets, chunkIndex, metadata, similarity?}], facets?}; X-Cache',
  })
  get(
    @TenantId() tenantId: string,
    @Query() q: SearchQueryParams,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SearchResponse | Readable> {
    checkQueryBounds(q.q, 'q', this.limits);
    const req: SearchRequest = {
      store: q.store,
      query: q.q,
      limit: q.limit,
      offset: q.offset,
      group: q.group,
      filter: q.filter,
      facets: q.facets?.split(','),
      sort: sortSpec(q.sort),
      mode: q.mode,
    };
    return this.respond(tenantId, req, q.answer, request, reply);
  }

  @Post()
  @HttpCode(200)
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace(SEARCH_CACHE_NAMESPACE)
  @ApiOkResponse({ description: 'Same as GET' })
  post(
    @TenantId() tenantId: string,
    @Body() body: SearchBody,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SearchResponse | Readable> {
    checkQueryBounds(body.query, 'query', this.limits);
    const req = {
      store: body.store,
      query: body.query,
      limit: body.limit,
      offset: body.offset,
      group: body.group,
      filter: body.filter,
      facets: body.facets,
      sort: sortSpec(body.sort),
      mode: body.mode,
    };
    return this.respond(tenantId, req, body.answer, request, reply);
  }

  /** The results; with `answer=`, their answer too (answer=generate as server-sent events when asked). */
  private respond(
    tenantId: string,
    req: SearchRequest,
    answer: AnswerKind | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<SearchResponse | Readable> {
    if (!answer) return this.search.search(tenantId, req);
    if (answer === 'generate' && wantsEventStream(request))
      return eventStream(reply, (signal) => this.answers.stream(tenantId, req, signal));
    return this.answers.answer(tenantId, req, answer);
  }
}
