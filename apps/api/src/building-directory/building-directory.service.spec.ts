import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { CacheBackend, TieredCache } from '@libs/cache';
import type { Building, BuildingSource } from './building.types';
import {
  BuildingInactiveError,
  BuildingNotFoundError,
  UpstreamError,
  UpstreamTimeoutError,
} from './building-directory.errors';
import { BUILDING_DIRECTORY_METRICS, BuildingDirectoryMetrics } from './building-directory.metrics';
import { BuildingDirectoryService } from './building-directory.service';

class FakeSource implements BuildingSource {
  readonly kind = 'file' as const;
  readonly description = 'fake';
  buildings = new Map<string, Building>();
  failWith?: Error;
  calls = 0;
  async getBuilding(tenantId: string, id: string): Promise<Building | null> {
    this.calls++;
    if (this.failWith) throw this.failWith;
    return this.buildings.get(`${tenantId}/${id}`) ?? null;
  }
  async health() {
    return {};
  }
}

describe('BuildingDirectoryService', () => {
  let source: FakeSource;
  let registry: Registry;
  let sut: BuildingDirectoryService;

  beforeEach(async () => {
    source = new FakeSource();
    source.buildings.set('t/ok', { id: 'ok', name: 'OK', active: true, latitude: 1, longitude: 2 });
    source.buildings.set('t/off', { id: 'off', name: 'Off', status: 'inactive' });
    source.buildings.set('t/noname', { id: 'noname', active: true });
    registry = new Registry();
    const metrics = await Test.createTestingModule({
      providers: [
        { provide: Registry, useValue: registry },
        ...BUILDING_DIRECTORY_METRICS,
        BuildingDirectoryMetrics,
      ],
    }).compile();
    const backend = new CacheBackend({ opTimeoutMs: 50, l1MaxEntries: 100, registry: new Registry() });
    const cache = new TieredCache<Building>(backend, {
      keyType: 'building',
      namespace: 'building_dir',
      ttlMs: 60_000,
      negativeTtlMs: 1000,
    });
    sut = new BuildingDirectoryService(source, cache, metrics.get(BuildingDirectoryMetrics));
    sut.onModuleInit();
  });

  const count = async (name: string, labels: Record<string, string>) => {
    const metric = await registry.getSingleMetric(name)!.get();
    return metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
  };

  it.each([
    ['ok', 'valid', true],
    ['off', 'invalid_inactive', false],
    ['missing', 'invalid_not_found', false],
  ] as const)('validate %s → %s', async (id, result, valid) => {
    const { value } = await sut.validate('t', id);
    expect(value).toEqual({ buildingId: id, valid, result });
    expect(await count('building_validations_total', { result })).toBe(1);
  });

  it.each([
    ['timeout', new UpstreamTimeoutError()],
    ['http error', new UpstreamError('boom', 'http_error', 500)],
  ])('validate → error when the upstream fails (%s), and it is counted as an error', async (_n, err) => {
    source.failWith = err;
    const { value, cache } = await sut.validate('t', 'ok');
    expect(value).toEqual({ buildingId: 'ok', valid: false, result: 'error' });
    expect(cache).toBeUndefined();
    expect(await count('building_validations_total', { result: 'error' })).toBe(1);
    expect(
      await count('building_directory_requests_total', { operation: 'validate_building', status: 'error' }),
    ).toBe(1);
  });

  it('getBuilding: MISS then HIT from the cache; unknown → BuildingNotFoundError (cached negatively)', async () => {
    expect((await sut.getBuilding('t', 'ok')).cache).toBe('MISS');
    expect((await sut.getBuilding('t', 'ok')).cache).toBe('HIT');
    await expect(sut.getBuilding('t', 'missing')).rejects.toBeInstanceOf(BuildingNotFoundError);
    await expect(sut.getBuilding('t', 'missing')).rejects.toBeInstanceOf(BuildingNotFoundError);
    expect(source.calls).toBe(2);
    expect(
      await count('building_directory_requests_total', { operation: 'get_building', status: 'not_found' }),
    ).toBe(2);
    expect(await count('building_cache_operations_total', { operation: 'hit' })).toBe(2);
  });

  it('requestData: denormalises; inactive → BuildingInactiveError; no name → 502 and a denormalisation failure', async () => {
    expect((await sut.requestData('t', 'ok')).value).toEqual({
      buildingId: 'ok',
      name: 'OK',
      address: { street: null, city: null, postalCode: null, country: null },
      latitude: 1,
      longitude: 2,
      coordinatesSource: 'flat',
    });
    await expect(sut.requestData('t', 'off')).rejects.toBeInstanceOf(BuildingInactiveError);
    await expect(sut.requestData('t', 'noname')).rejects.toMatchObject({
      status: 502,
      code: 'UPSTREAM_ERROR',
    });
    expect(await count('building_denormalization_total', { status: 'success' })).toBe(1);
    expect(await count('building_denormalization_total', { status: 'failure' })).toBe(1);
    expect(await count('coordinate_extractions_total', { result: 'success', source: 'flat' })).toBe(1);
  });

  it('tenants never share entries', async () => {
    source.buildings.set('u/ok', { id: 'ok', name: 'Other tenant' });
    expect((await sut.getBuilding('t', 'ok')).value.name).toBe('OK');
    expect((await sut.getBuilding('u', 'ok')).value.name).toBe('Other tenant');
  });
});
