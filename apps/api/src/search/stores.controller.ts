import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { TenantId } from '@app/auth';
import { API_V1 } from '@app/routes';
import { CreateStoreDto, StoreView } from './dto/store.dto';
import { StoresService } from './stores.service';

@ApiTags('search')
@Controller(`${API_V1}/stores`)
export class StoresController {
  constructor(private readonly stores: StoresService) {}

  @Post()
  @ApiCreatedResponse({ description: 'The new, empty store' })
  @ApiConflictResponse({ description: 'STORE_EXISTS' })
  create(@TenantId() tenantId: string, @Body() body: CreateStoreDto): Promise<StoreView> {
    return this.stores.create(tenantId, body.name);
  }

  @Get()
  @ApiOkResponse({ description: '{stores:[{name, documentCount, bytes, createdAt, updatedAt}]}' })
  list(@TenantId() tenantId: string): Promise<{ stores: StoreView[] }> {
    return this.stores.list(tenantId);
  }

  @Get(':store')
  @ApiNotFoundResponse({ description: 'STORE_NOT_FOUND' })
  get(@TenantId() tenantId: string, @Param('store') store: string): Promise<StoreView> {
    return this.stores.get(tenantId, store);
  }

  @Delete(':store')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted with its documents' })
  async delete(@TenantId() tenantId: string, @Param('store') store: string): Promise<void> {
    await this.stores.delete(tenantId, store);
  }
}
