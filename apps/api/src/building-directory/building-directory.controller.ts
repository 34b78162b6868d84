import { Body, Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
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
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CacheBypass } from '@libs/cache';
import { API_V1 } from '@app/common/api';
import { Public, TenantId } from '@app/auth/auth.decorators';
import { BuildingIdPipe, BuildingIdsDto } from './dto/building-ids.dto';
import { BuildingDirectoryService, WarmResult } from './building-directory.service';
import { BuildingWebhookService } from './building-webhook.service';
import type { Building, BuildingRequestData, ValidationResult } from './building.types';

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

/** Sets X-Cache from a cached read (validation answers without one when it was decided without the cache). */
function withXCache<T>(reply: FastifyReply, { value, cache }: { value: T; cache?: string }): T {
  if (cache) void reply.header('X-Cache', cache);
  return value;
}

@ApiTags('buildings')
@Controller(`${API_V1}/buildings`)
export class BuildingDirectoryController {
  constructor(private readonly buildings: BuildingDirectoryService) {}

  @Get(':buildingId')
  @noCacheHeader
  @buildingIdParam
  @ApiOkResponse({ description: 'The building as the directory gave it; X-Cache: HIT|MISS|STALE|BYPASS' })
  @ApiNotFoundResponse({ description: 'BUILDING_NOT_FOUND' })
  @ApiBadGatewayResponse({ description: 'UPSTREAM_ERROR (no stale copy)' })
  @ApiGatewayTimeoutResponse({ description: 'UPSTREAM_TIMEOUT (no stale copy)' })
  async get(
    @TenantId() tenantId: string,
    @Param('buildingId', BuildingIdPipe) buildingId: string,
    @CacheBypass() bypass: boolean,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Building> {
    return withXCache(reply, await this.buildings.getBuilding(tenantId, buildingId, { bypass }));
  }

  @Get(':buildingId/validation')
  @noCacheHeader
  @buildingIdParam
  @ApiOkResponse({
    description: '{buildingId, valid, result}: valid | invalid_not_found | invalid_inactive | error',
  })
  async validation(
    @TenantId() tenantId: string,
    @Param('buildingId', BuildingIdPipe) buildingId: string,
    @CacheBypass() bypass: boolean,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ buildingId: string; valid: boolean; result: ValidationResult }> {
    return withXCache(reply, await this.buildings.validate(tenantId, buildingId, { bypass }));
  }

  @Get(':buildingId/request-data')
  @noCacheHeader
  @buildingIdParam
  @ApiOkResponse({
    description: 'Denormalised {buildingId, name, address, latitude, longitude, coordinatesSource}',
  })
  @ApiNotFoundResponse({ description: 'BUILDING_NOT_FOUND' })
  @ApiUnprocessableEntityResponse({ description: 'BUILDING_INACTIVE' })
  async requestData(
    @TenantId() tenantId: string,
    @Param('buildingId', BuildingIdPipe) buildingId: string,
    @CacheBypass() bypass: boolean,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BuildingRequestData> {
    return withXCache(reply, await this.buildings.requestData(tenantId, buildingId, { bypass }));
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
