import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TenantId } from '@app/auth';
import { API_V1 } from '@app/routes';
import { Consumes } from '@app/validation';
import { kErrorCode, RequestWithErrorCode } from '@app/errors';
import { RateLimit } from '@app/rate-limit';
import {
  DocumentView,
  GetDocumentQuery,
  ListDocumentsQuery,
  UpdateDocumentBody,
  UploadedDocument,
  UploadResult,
} from './dto/document.dto';
import { parseFilter } from './filter/filter-parser';
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
        externalId: {
          type: 'string',
          maxLength: 256,
          description:
            "The caller's key for the file part that follows it (1–256 characters, no control characters): " +
            'a document already holding it is replaced in place (same id); repeat before each file',
        },
        metadata: {
          type: 'string',
          description:
            'Optional, before the files: JSON keyed by filename, e.g. {"policy.pdf": {"tags": ["policy"], "owner": "hr"}}',
        },
        files: { type: 'array', items: { type: 'string', format: 'binary' }, description: UPLOAD_TYPES },
      },
    },
  })
  @ApiCreatedResponse({
    description:
      '{documents:[{id, filename, contentType, bytes, chunks, externalId?, outcome}], rejected:[{filename, code, message}]} — 201 when a document was created',
  })
  @ApiOkResponse({
    description:
      'Nothing created: every stored file replaced a document (externalId) or was already held (identical bytes, outcome "unchanged")',
  })
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

  @Put(':id')
  @RateLimit('upload')
  @Consumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      properties: { files: { type: 'string', format: 'binary', description: 'exactly one file' } },
    },
  })
  @ApiOkResponse({
    description:
      'The document with its new file, same id and externalId: {id, filename, contentType, bytes, chunks, externalId?, outcome: "replaced"|"unchanged"}; its old passages stay searchable until the new ones are published',
  })
  @ApiNotFoundResponse({ description: 'STORE_NOT_FOUND, DOCUMENT_NOT_FOUND' })
  async replace(
    @TenantId() tenantId: string,
    @Param('store') store: string,
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UploadedDocument | UploadResult> {
    const outcome = await this.documents.replace(tenantId, store, id, request);
    void reply.status(outcome.status);
    if ('headers' in outcome && outcome.headers) void reply.headers(outcome.headers);
    if ('errorCode' in outcome && outcome.errorCode)
      (request as RequestWithErrorCode)[kErrorCode] = outcome.errorCode;
    return outcome.body;
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
