import { Injectable } from '@nestjs/common';
import { StoreView } from './dto/store.dto';
import { EmbeddingsService } from './embeddings/embeddings.service';
import { StoreExistsError, StoreNotFoundError } from './search.errors';
import { SearchRepository, StoreRow } from './search.repository';

@Injectable()
export class StoresService {
  constructor(
    private readonly repository: SearchRepository,
    private readonly embeddings: EmbeddingsService,
  ) {}

  async create(tenantId: string, name: string): Promise<StoreView> {
    const row = await this.repository.createStore(tenantId, name);
    if (!row) throw new StoreExistsError(name);
    return (await this.views([row]))[0];
  }

  async list(tenantId: string): Promise<{ stores: StoreView[] }> {
    return { stores: await this.views(await this.repository.listStores(tenantId)) };
  }

  async get(tenantId: string, name: string): Promise<StoreView> {
    const row = await this.repository.findStore(tenantId, name);
    if (!row) throw new StoreNotFoundError(name);
    return (await this.views([row]))[0];
  }

  /** The stores with their embedding progress (one statement). */
  private async views(rows: StoreRow[]): Promise<StoreView[]> {
    // with EMBEDDINGS_PROVIDER=off no vector counts (no model is named ''), the passages still do
    const counts = rows.length
      ? await this.embeddings.repository.storeCounts(
          rows.map((r) => r.id),
          this.embeddings.model ?? '',
        )
      : undefined;
    return rows.map((row) => {
      const c = counts?.get(row.id);
      return { ...storeView(row), embedding: this.embeddings.progress(c, c?.total ?? 0) };
    });
  }

  /** Documents and chunks go with the store (ON DELETE CASCADE); its cache keys die with its id. */
  async delete(tenantId: string, name: string): Promise<void> {
    if (!(await this.repository.deleteStore(tenantId, name))) throw new StoreNotFoundError(name);
  }
}

function storeView(row: StoreRow): Omit<StoreView, 'embedding'> {
  return {
    name: row.name,
    documentCount: Number(row.documentCount),
    bytes: Number(row.bytes),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
