import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CacheStatus, InjectTieredCache, TieredCache } from '@libs/cache';
import { AppError } from '@app/errors';
import { BUILDING_SOURCE } from './building-directory.tokens';
import type { Building, BuildingRequestData, BuildingSource, ValidationResult } from './building.types';
import {
  BuildingInactiveError,
  BuildingNotFoundError,
  UpstreamError,
  UpstreamTimeoutError,
} from './building-directory.errors';
import { BuildingDirectoryMetrics } from './building-directory.metrics';
import { extractAddress, extractCoordinates, isActive } from './coordinates';

/** The cache namespace: keys are exactly `building_dir:{tenantId}:{buildingId}` (api.md). */
export const BUILDING_CACHE_NAMESPACE = 'building_dir';

export interface Cached<T> {
  value: T;
  cache: CacheStatus;
}

export interface BuildingValidation {
  buildingId: string;
  valid: boolean;
  result: ValidationResult;
}

export interface WarmResult {
  warmed: number;
  notFound: number;
  failed: number;
  details: { notFound: string[]; failed: string[] };
}

/**
 * Get a building, validate it for a request, and produce its denormalised request data — each through
 * the tenant's building cache (one upstream call per key however many callers, stale copies served
 * when the upstream fails) and instrumented with the building directory metrics.
 */
@Injectable()
export class BuildingDirectoryService implements OnModuleInit {
  private readonly logger = new Logger(BuildingDirectoryService.name);

  constructor(
    @Inject(BUILDING_SOURCE) private readonly source: BuildingSource,
    @InjectTieredCache(BUILDING_CACHE_NAMESPACE) private readonly cache: TieredCache<Building>,
    private readonly metrics: BuildingDirectoryMetrics,
  ) {}

  onModuleInit(): void {
    this.cache.onEvent((event, count) => this.metrics.cacheEvent(event, count));
  }

  getBuilding(tenantId: string, buildingId: string): Promise<Cached<Building>> {
    return this.metrics.track(
      'get_building',
      () => this.lookup(tenantId, buildingId),
      () => 'success',
      (err) => (err instanceof BuildingNotFoundError ? 'not_found' : 'error'),
    );
  }

  /** Never throws for an upstream failure: that is the `error` result. */
  async validate(
    tenantId: string,
    buildingId: string,
  ): Promise<{ value: BuildingValidation; cache?: CacheStatus }> {
    const outcome = await this.metrics.track(
      'validate_building',
      async () => {
        try {
          const { value, cache } = await this.lookup(tenantId, buildingId);
          return { result: (isActive(value) ? 'valid' : 'invalid_inactive') as ValidationResult, cache };
        } catch (err) {
          if (err instanceof BuildingNotFoundError)
            return { result: 'invalid_not_found' as ValidationResult, cache: undefined };
          if (err instanceof UpstreamError || err instanceof UpstreamTimeoutError) {
            this.logger.warn(`Validation of ${buildingId} could not reach the directory: ${err.message}`);
            return { result: 'error' as ValidationResult, cache: undefined };
          }
          throw err;
        }
      },
      (o) => (o.result === 'error' ? 'error' : o.result === 'invalid_not_found' ? 'not_found' : 'success'),
    );
    this.metrics.validation(outcome.result);
    return {
      value: { buildingId, valid: outcome.result === 'valid', result: outcome.result },
      cache: outcome.cache,
    };
  }

  requestData(tenantId: string, buildingId: string): Promise<Cached<BuildingRequestData>> {
    return this.metrics.track(
      'get_request_data',
      async () => {
        const { value: building, cache } = await this.lookup(tenantId, buildingId);
        if (!isActive(building)) throw new BuildingInactiveError(buildingId);
        return { value: this.denormalize(buildingId, building), cache };
      },
      () => 'success',
      (err) =>
        err instanceof BuildingNotFoundError
          ? 'not_found'
          : err instanceof BuildingInactiveError
            ? 'success'
            : 'error',
    );
  }

  /** Removes the tenant's entries from L1 on every replica and from L2. */
  invalidate(tenantId: string, buildingIds: string[]): Promise<number> {
    return this.cache.invalidate(tenantId, buildingIds);
  }

  /** Loads each building fresh from the source into the cache (8 at a time). */
  async warm(tenantId: string, buildingIds: string[]): Promise<WarmResult> {
    const ids = [...new Set(buildingIds)];
    const out: WarmResult = { warmed: 0, notFound: 0, failed: 0, details: { notFound: [], failed: [] } };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++];
        try {
          const building = await this.cache.refresh(tenantId, id, () =>
            this.source.getBuilding(tenantId, id),
          );
          if (building) out.warmed++;
          else {
            out.notFound++;
            out.details.notFound.push(id);
          }
        } catch {
          out.failed++;
          out.details.failed.push(id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, ids.length) }, worker));
    return out;
  }

  /** Through the building cache; on a cached route, its no-cache and X-Cache apply (CacheInterceptor). */
  private async lookup(tenantId: string, buildingId: string): Promise<Cached<Building>> {
    const { value, status } = await this.cache.getOrLoad(tenantId, buildingId, () =>
      this.source.getBuilding(tenantId, buildingId),
    );
    if (value === null) throw new BuildingNotFoundError(buildingId);
    return { value, cache: status };
  }

  private denormalize(buildingId: string, building: Building): BuildingRequestData {
    const coords = extractCoordinates(building);
    this.metrics.coordinates(coords.result, coords.source);
    const name = typeof building.name === 'string' && building.name.trim() !== '' ? building.name : null;
    if (name === null) {
      this.metrics.denormalizations.inc({ status: 'failure' });
      throw new IncompleteBuildingError(buildingId);
    }
    this.metrics.denormalizations.inc({ status: 'success' });
    return {
      buildingId,
      name,
      address: extractAddress(building),
      latitude: coords.latitude,
      longitude: coords.longitude,
      coordinatesSource: coords.result === 'success' ? coords.source : 'missing',
    };
  }
}

/** The directory's record lacks what request data needs (a name): the upstream's fault, a 502. */
class IncompleteBuildingError extends AppError {
  override readonly fault = 'dependency';

  constructor(buildingId: string) {
    super(502, 'UPSTREAM_ERROR', `The directory's record of building ${buildingId} has no name`, {
      buildingId,
    });
  }
}
