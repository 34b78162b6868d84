import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TenantId } from '@app/auth/auth.decorators';
import { API_V1 } from '@app/common/api';
import { Consumes } from '@app/common/media-type';
import { kErrorCode, RequestWithErrorCode } from '@app/common/all-exceptions.filter';
import { RateLimit } from '@app/rate-limit/rate-limit.decorator';
import { DocumentView, GetDocumentQuery, ListDocumentsQuery, UploadResult } from './dto/document.dto';
import { DocumentsService } from './documents.service';

/** The accepted upload types, as the OpenAPI document states them (sniff.ts decides them from the bytes). */
const UPLOAD_TYPES =
  'Files to index (1–UPLOAD_MAX_FILES), each typed by its content, never its name: plain text, markdown, HTML, CSV, ' +
  'JSON (UTF-8), PDF, RTF, and the zip-based docx, xlsx, pptx (Office Open XML), odt, ods, odp (OpenDocument) and ' +
  "epub. Anything else is refused with 415 UNSUPPORTED_MEDIA_TYPE in that file's `rejected` entry.";

@ApiTags('search')
@Controller(`${API_V1}/stores/:store/documents`)
export class DocumentsController {
  constructor(private readonly documents: DocumentsService) {}

  @Post()
  @RateLimit('upload')
  @Consumes('multipart/form-data')
  @ApiBody({
    description: UPLOAD_TYPES,
    schema: {
      type: 'object',
      properties: {
        files: { type: 'array', items: { type: 'string', format: 'binary' }, description: UPLOAD_TYPES },
      },
    },
  })
  @ApiCreatedResponse({ description: '{documents:[…], rejected:[{filename, code, message}]}' })
  @ApiResponse({
    status: 415,
    description:
      'UNSUPPORTED_MEDIA_TYPE: every file is content of none of the accepted types (or the body is not multipart)',
  })
  @ApiResponse({
    status: 422,
    description:
      'ARCHIVE_REFUSED (a zip-based file past EXTRACTION_ZIP_* limits) or EXTRACTION_FAILED (details.reason) for every file',
  })
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
    return this.documents.list(tenantId, store, query.limit, query.cursor);
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
