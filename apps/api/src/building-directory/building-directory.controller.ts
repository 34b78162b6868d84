import { Body, Controller, Get, HttpCode, Param, Post, Req, UseInterceptors } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiGatewayTimeoutResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CacheInterceptor, CacheNamespace } from '@libs/cache';
import { API_V1 } from '@app/routes';
import { Public, TenantId } from '@app/auth';
import { BuildingIdPipe, BuildingIdsDto } from './dto/building-ids.dto';
import {
  BUILDING_CACHE_NAMESPACE,
  BuildingDirectoryService,
  BuildingValidation,
  WarmResult,
} from './building-directory.service';
import { BuildingWebhookService } from './building-webhook.service';
import type { Building, BuildingRequestData } from './building.types';

const buildingIdParam = ApiParam({
  name: 'buildingId',
  example: 'bld-001',
  description: '1–128 characters of A-Z a-z 0-9 . _ : - (starting alphanumeric)',
});

const noCacheHeader = ApiHeader({
  name: 'Cache-Control',
  required: false,
  description: '`no-cache` skips the cache read (the fresh answer is still stored)',
});

@ApiTags('buildings')
@Controller(`${API_V1}/buildings`)
export class BuildingDirectoryController {
  constructor(private readonly buildings: BuildingDirectoryService) {}

  @Get(':buildingId')
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace(BUILDING_CACHE_NAMESPACE)
  @noCacheHeader
  @buildingIdParam
  @ApiOkResponse({ description: 'The building as the directory gave it; X-Cache: HIT|MISS|STALE|BYPASS' })
  @ApiNotFoundResponse({ description: 'BUILDING_NOT_FOUND' })
  @ApiBadGatewayResponse({ description: 'UPSTREAM_ERROR (no stale copy)' })
  @ApiGatewayTimeoutResponse({ description: 'UPSTREAM_TIMEOUT (no stale copy)' })
  get(
    @TenantId() tenantId: string,
    @Param('buildingId', BuildingIdPipe) buildingId: string,
  ): Promise<Building> {
    return this.buildings.getBuilding(tenantId, buildingId).then((r) => r.value);
  }

  @Get(':buildingId/validation')
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace(BUILDING_CACHE_NAMESPACE)
  @noCacheHeader
  @buildingIdParam
  @ApiOkResponse({
    description: '{buildingId, valid, result}: valid | invalid_not_found | invalid_inactive | error',
  })
  validation(
    @TenantId() tenantId: string,
    @Param('buildingId', BuildingIdPipe) buildingId: string,
  ): Promise<BuildingValidation> {
    return this.buildings.validate(tenantId, buildingId).then((r) => r.value);
  }

  @Get(':buildingId/request-data')
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace(BUILDING_CACHE_NAMESPACE)
  @noCacheHeader
  @buildingIdParam
  @ApiOkResponse({
    description: 'Denormalised {buildingId, name, address, latitude, longitude, coordinatesSource}',
  })
  @ApiNotFoundResponse({ description: 'BUILDING_NOT_FOUND' })
  @ApiUnprocessableEntityResponse({ description: 'BUILDING_INACTIVE' })
  requestData(
    @TenantId() tenantId: string,
    @Param('buildingId', BuildingIdPipe) buildingId: string,
  ): Promise<BuildingRequestData> {
    return this.buildings.requestData(tenantId, buildingId).then((r) => r.value);
  }

  @Post('cache/invalidate')
  @HttpCode(200)
  @ApiOkResponse({ description: "{invalidated}: removed from this tenant's L1 on every replica and from L2" })
  async invalidate(
    @TenantId() tenantId: string,
    @Body() body: BuildingIdsDto,
  ): Promise<{ invalidated: number }> {
    return { invalidated: await this.buildings.invalidate(tenantId, body.buildingIds) };
  }

  @Post('cache/warm')
  @HttpCode(200)
  @ApiOkResponse({ description: '{warmed, notFound, failed} counts, with the ids in details' })
  warm(@TenantId() tenantId: string, @Body() body: BuildingIdsDto): Promise<WarmResult> {
    return this.buildings.warm(tenantId, body.buildingIds);
  }
}

@ApiTags('webhooks')
@Public()
@Controller(`${API_V1}/webhooks`)
export class BuildingWebhookController {
  constructor(private readonly webhooks: BuildingWebhookService) {}

  /** The User Service's change feed; signed, no API key. The body is validated after the signature. */
  @Post('building-directory')
  @HttpCode(200)
  @ApiHeader({ name: 'X-Signature', required: true, description: 'sha256=<hex HMAC-SHA256 of the raw body>' })
  @ApiOkResponse({ description: '{invalidated}' })
  @ApiUnauthorizedResponse({ description: 'SIGNATURE_INVALID' })
  receive(@Req() request: FastifyRequest): Promise<{ invalidated: number }> {
    return this.webhooks.receive(request);
  }
}
