import { Body, Controller, Get, HttpCode, Post, Query, UseInterceptors } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CacheInterceptor, CacheNamespace } from '@libs/cache';
import { TenantId } from '@app/auth/auth.decorators';
import { API_V1 } from '@app/common/api';
import { AppConfig } from '@app/config';
import { RateLimit } from '@app/rate-limit/rate-limit.decorator';
import { SearchBody, SearchQueryParams, SearchResponse } from './dto/search.dto';
import { checkQueryBounds, SearchQueryLimits } from './query-bounds';
import { SEARCH_CACHE_NAMESPACE, SearchService } from './search.service';

@ApiTags('search')
@Controller(`${API_V1}/search`)
@RateLimit('search')
@ApiHeader({ name: 'Cache-Control', required: false, description: 'no-cache skips the cached result' })
export class SearchController {
  private readonly limits: SearchQueryLimits;

  constructor(
    private readonly search: SearchService,
    config: AppConfig,
  ) {
    this.limits = { maxChars: config.search.queryMaxChars, maxTerms: config.search.queryMaxTerms };
  }

  @Get()
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace(SEARCH_CACHE_NAMESPACE)
  @ApiOkResponse({
    description:
      '{store, query, total, tookMs, matching: all|relaxed, mode: lexical|semantic|hybrid, results:[{documentId, filename, score, matchedTerms, snippets, chunkIndex, similarity?}]}; X-Cache',
  })
  get(@TenantId() tenantId: string, @Query() q: SearchQueryParams): Promise<SearchResponse> {
    checkQueryBounds(q.q, 'q', this.limits);
    return this.search.search(tenantId, {
      store: q.store,
      query: q.q,
      limit: q.limit,
      offset: q.offset,
      group: q.group,
      mode: q.mode,
    });
  }

  @Post()
  @HttpCode(200)
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace(SEARCH_CACHE_NAMESPACE)
  @ApiOkResponse({ description: 'Same as GET' })
  post(@TenantId() tenantId: string, @Body() body: SearchBody): Promise<SearchResponse> {
    checkQueryBounds(body.query, 'query', this.limits);
    return this.search.search(tenantId, {
      store: body.store,
      query: body.query,
      limit: body.limit,
      offset: body.offset,
      group: body.group,
      mode: body.mode,
    });
  }
}
