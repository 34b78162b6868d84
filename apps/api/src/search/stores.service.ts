import { Injectable } from '@nestjs/common';
import { StoreView } from './dto/store.dto';
import { StoreExistsError, StoreNotFoundError } from './search.errors';
import { SearchRepository, StoreRow } from './search.repository';

@Injectable()
export class StoresService {
  constructor(private readonly repository: SearchRepository) {}

  async create(tenantId: string, name: string): Promise<StoreView> {
    const row = await this.repository.createStore(tenantId, name);
    if (!row) throw new StoreExistsError(name);
    return storeView(row);
  }

  async list(tenantId: string): Promise<{ stores: StoreView[] }> {
    return { stores: (await this.repository.listStores(tenantId)).map(storeView) };
  }

  async get(tenantId: string, name: string): Promise<StoreView> {
    const row = await this.repository.findStore(tenantId, name);
    if (!row) throw new StoreNotFoundError(name);
    return storeView(row);
  }

  /** Documents and chunks go with the store (ON DELETE CASCADE); its cache keys die with its id. */
  async delete(tenantId: string, name: string): Promise<void> {
    if (!(await this.repository.deleteStore(tenantId, name))) throw new StoreNotFoundError(name);
  }
}

function storeView(row: StoreRow): StoreView {
  return {
    name: row.name,
    documentCount: Number(row.documentCount),
    bytes: Number(row.bytes),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
