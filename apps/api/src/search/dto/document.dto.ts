import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { CURSOR_PATTERN } from '../document-cursor';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export class ListDocumentsQuery {
  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  @ApiPropertyOptional({
    type: String,
    description: 'nextCursor of the previous page of the same store (opaque; refused for any other store)',
  })
  @IsOptional()
  @IsString()
  @Matches(CURSOR_PATTERN, { message: 'cursor must be the nextCursor of a previous page of this store' })
  cursor?: string;
}

export class GetDocumentQuery {
  @ApiPropertyOptional({ type: String, enum: ['text'], description: 'include=text adds the extracted text' })
  @IsOptional()
  @IsIn(['text'])
  include?: 'text';
}

export interface DocumentView {
  id: string;
  filename: string;
  contentType: string;
  bytes: number;
  chunks: number;
  checksum: string;
  /** The caller's key, when the document was uploaded with one (upload field `externalId`). */
  externalId?: string;
  createdAt: string;
  /** When its content last changed (created, or replaced in place). */
  updatedAt: string;
  text?: string;
}

export interface UploadedDocument {
  id: string;
  filename: string;
  contentType: string;
  bytes: number;
  chunks: number;
  externalId?: string;
  /**
   * `created`: a new document; `replaced`: the document with this id (PUT) or this externalId got the new
   * file; `unchanged`: the store already held these bytes as this document (nothing was stored).
   */
  outcome: 'created' | 'replaced' | 'unchanged';
}

export interface RejectedFile {
  filename: string;
  code: string;
  message: string;
  /** For DUPLICATE_DOCUMENT: the document already holding this content. */
  existingDocumentId?: string;
  /** For ARCHIVE_REFUSED and EXTRACTION_FAILED: `reason` (and the limit passed). */
  details?: Record<string, unknown>;
}

export interface UploadResult {
  documents: UploadedDocument[];
  rejected: RejectedFile[];
}
