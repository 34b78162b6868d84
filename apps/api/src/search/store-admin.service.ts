import { Injectable } from '@nestjs/common';
import { EmbeddingProgress, EmbeddingsService } from './embeddings/embeddings.service';
import { StoreNotFoundError } from './search.errors';
import { ContentTypeStats, StoreAdminRepository } from './store-admin.repository';
import { parseSettings, readSettings, StoreSettings } from './store-settings';

/** GET /api/v1/stores/:store/stats */
export interface StoreStats {
  store: string;
  documents: number;
  passages: number;
  bytes: number;
  /** Distinct words of the store's vocabulary. */
  words: number;
  /** Uploads and replacements still being stored (not in the counts above until published). */
  pendingUploads: number;
  byContentType: Record<string, ContentTypeStats>;
  createdAt: string;
  /** The last change to the store: a document published, replaced or deleted, or its settings. */
  lastUpdate: string;
  /** Metadata keys → documents carrying each (the 100 most used). */
  metadataKeys: Record<string, number>;
  /** The configured model's progress over the store's published passages (as on the store). */
  embedding: EmbeddingProgress;
}

@Injectable()
export class StoreAdminService {
  constructor(
    private readonly repository: StoreAdminRepository,
    private readonly embeddings: EmbeddingsService,
  ) {}

  async getSettings(tenantId: string, store: string): Promise<StoreSettings> {
    const stored = await this.repository.settings(tenantId, store);
    if (stored === undefined) throw new StoreNotFoundError(store);
    return readSettings(stored);
  }

  /** Validates (400 naming the failing fields), normalises, stores; the answer is what is now in force. */
  async putSettings(tenantId: string, store: string, body: unknown): Promise<StoreSettings> {
    const settings = parseSettings(body);
    if (!(await this.repository.putSettings(tenantId, store, settings))) throw new StoreNotFoundError(store);
    return settings;
  }

  async stats(tenantId: string, store: string): Promise<StoreStats> {
    const row = await this.repository.stats(tenantId, store);
    if (!row) throw new StoreNotFoundError(store);
    const byContentType: Record<string, ContentTypeStats> = {};
    let documents = 0;
    let passages = 0;
    let bytes = 0;
    for (const t of row.byContentType) {
      const entry = { documents: Number(t.documents), passages: Number(t.passages), bytes: Number(t.bytes) };
      byContentType[t.contentType] = entry;
      documents += entry.documents;
      passages += entry.passages;
      bytes += entry.bytes;
    }
    return {
      store,
      documents,
      passages,
      bytes,
      words: Number(row.words),
      pendingUploads: Number(row.pendingUploads),
      byContentType,
      createdAt: new Date(row.createdAt).toISOString(),
      lastUpdate: new Date(row.updatedAt).toISOString(),
      metadataKeys: row.metadataKeys,
      embedding: await this.embeddingProgress(row.id),
    };
  }

  private async embeddingProgress(storeId: string): Promise<EmbeddingProgress> {
    const counts = await this.embeddings.repository.storeCounts([storeId], this.embeddings.model ?? '');
    const c = counts.get(storeId);
    return this.embeddings.progress(c, c?.total ?? 0);
  }
}
