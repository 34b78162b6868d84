import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TenantId } from '@app/auth/auth.decorators';
import { API_V1 } from '@app/common/api';
import { RateLimit } from '@app/rate-limit/rate-limit.decorator';
import { wantsNoCache } from '@libs/cache';
import { SearchBody, SearchQueryParams, SearchResponse } from './dto/search.dto';
import { SearchRequest, SearchService } from './search.service';

@ApiTags('search')
@Controller(`${API_V1}/search`)
@RateLimit('search')
@ApiHeader({ name: 'Cache-Control', required: false, description: 'no-cache skips the cached result' })
export class SearchController {
  constructor(private readonly search: SearchService) {}

  @Get()
  @ApiOkResponse({
    description:
      '{store, query, total, tookMs, results:[{documentId, filename, chunkIndex, score, snippet}]}; X-Cache',
  })
  get(
    @TenantId() tenantId: string,
    @Query() q: SearchQueryParams,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SearchResponse> {
    return this.run(
      tenantId,
      { store: q.store, query: q.q, limit: q.limit, offset: q.offset },
      request,
      reply,
    );
  }

  @Post()
  @HttpCode(200)
  @ApiOkResponse({ description: 'Same as GET' })
  post(
    @TenantId() tenantId: string,
    @Body() body: SearchBody,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SearchResponse> {
    return this.run(
      tenantId,
      { store: body.store, query: body.query, limit: body.limit, offset: body.offset },
      request,
      reply,
    );
  }

  private async run(
    tenantId: string,
    params: Omit<SearchRequest, 'bypassCache'>,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<SearchResponse> {
    const { body, cache } = await this.search.search(tenantId, {
      ...params,
      bypassCache: wantsNoCache(request.headers),
    });
    void reply.header('X-Cache', cache);
    return body;
  }
}
