import type { EmbeddingProgress } from '../embeddings/embeddings.service';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

export const STORE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export class CreateStoreDto {
  @ApiProperty({ type: String, example: 'handbook', pattern: STORE_NAME.source })
  @IsString()
  @Matches(STORE_NAME, { message: 'name must match ^[a-z0-9][a-z0-9_-]{0,62}$' })
  name!: string;
}

export interface StoreView {
  name: string;
  documentCount: number;
  bytes: number;
  createdAt: string;
  updatedAt: string;
  /** Its published passages, and how many the configured model embedded (`off` without a provider). */
  embedding: EmbeddingProgress;
}
