import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TenantId } from '@app/auth/auth.decorators';
import { API_V1 } from '@app/common/api';
import { Consumes } from '@app/common/media-type';
import { kErrorCode, RequestWithErrorCode } from '@app/common/all-exceptions.filter';
import { RateLimit } from '@app/rate-limit/rate-limit.decorator';
import {
  DocumentView,
  GetDocumentQuery,
  ListDocumentsQuery,
  UpdateDocumentBody,
  UploadResult,
} from './dto/document.dto';
import { parseFilter } from './filter/filter-parser';
import { DocumentsService } from './documents.service';

@ApiTags('search')
@Controller(`${API_V1}/stores/:store/documents`)
export class DocumentsController {
  constructor(private readonly documents: DocumentsService) {}

  @Post()
  @RateLimit('upload')
  @Consumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        metadata: {
          type: 'string',
          description:
            'Optional, before the files: JSON keyed by filename, e.g. {"policy.pdf": {"tags": ["policy"], "owner": "hr"}}',
        },
        files: { type: 'array', items: { type: 'string', format: 'binary' } },
      },
    },
  })
  @ApiCreatedResponse({ description: '{documents:[…], rejected:[{filename, code, message}]}' })
  async upload(
    @TenantId() tenantId: string,
    @Param('store') store: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UploadResult> {
    const { status, body, errorCode, headers } = await this.documents.upload(tenantId, store, request);
    void reply.status(status);
    if (headers) void reply.headers(headers);
    if (errorCode) (request as RequestWithErrorCode)[kErrorCode] = errorCode; // errors_total{type}
    return body;
  }

  @Get()
  @ApiOkResponse({
    description: '{documents:[…], nextCursor} — pass nextCursor as ?cursor= for the next page',
  })
  list(
    @TenantId() tenantId: string,
    @Param('store') store: string,
    @Query() query: ListDocumentsQuery,
  ): Promise<{ documents: DocumentView[]; nextCursor: string | null }> {
    // a malformed filter is the client's mistake whatever the store: 400 INVALID_FILTER first
    const filter = query.filter === undefined ? undefined : parseFilter(query.filter);
    return this.documents.list(tenantId, store, query.limit, query.cursor, filter);
  }

  @Get(':id')
  get(
    @TenantId() tenantId: string,
    @Param('store') store: string,
    @Param('id') id: string,
    @Query() query: GetDocumentQuery,
  ): Promise<DocumentView> {
    return this.documents.get(tenantId, store, id, query.include === 'text');
  }

  @Patch(':id')
  @ApiOkResponse({
    description:
      'The document with its metadata changed; the store version moves on, so cached searches miss',
  })
  updateMetadata(
    @TenantId() tenantId: string,
    @Param('store') store: string,
    @Param('id') id: string,
    @Body() body: UpdateDocumentBody,
  ): Promise<DocumentView> {
    return this.documents.updateMetadata(tenantId, store, id, body.metadata);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted; the store version moves on, so cached searches miss' })
  async delete(
    @TenantId() tenantId: string,
    @Param('store') store: string,
    @Param('id') id: string,
  ): Promise<void> {
    await this.documents.delete(tenantId, store, id);
  }
}
