import type { EmbeddingProgress } from '../embeddings/embeddings.service';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { CURSOR_PATTERN } from '../document-cursor';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import type { Metadata } from '../metadata/metadata';
import { FILTER_DESCRIPTION, FILTER_MAX_CHARS } from '../filter/filter-doc';

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

  @ApiPropertyOptional({ type: String, maxLength: FILTER_MAX_CHARS, description: FILTER_DESCRIPTION })
  @IsOptional()
  @IsString()
  filter?: string;
}

/** PATCH /api/v1/stores/:store/documents/:id */
export class UpdateDocumentBody {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { tags: ['policy', 'hr'], owner: 'hr', reviewed: '2026-03-01', draft: null },
    description:
      "Merged into the user metadata: a key set to null is removed. Values: string, number, boolean, date (ISO 8601 string) or list of strings; at most 32 keys, 8 KiB; contentType, type, bytes, uploadedAt, title and language are Atrium's own and cannot be set.",
  })
  @IsObject()
  metadata!: Record<string, unknown>;
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
  /** The user's keys and Atrium's own: contentType, type, bytes, uploadedAt, title, language. */
  metadata: Metadata;
  text?: string;
  /** Its passages embedded by the configured model (`off` without a provider). */
  embedding?: EmbeddingProgress;
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
  metadata: Metadata;
  /** `pending` (embedded in the background after the answer) or `off`. */
  embedding: EmbeddingProgress;
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
  /** Filenames the `metadata` field named that no file of the upload had (present only when some did). */
  unmatchedMetadata?: string[];
}
