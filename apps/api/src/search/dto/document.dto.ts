import type { EmbeddingProgress } from '../embeddings/embeddings.service';
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
  createdAt: string;
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
}
