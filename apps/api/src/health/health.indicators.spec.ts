import { statfsSync } from 'node:fs';
import { Test } from '@nestjs/testing';
import { TerminusModule } from '@nestjs/terminus';
import { AppConfig, testConfig } from '@app/config';
import { DiskStorageHealthIndicator, MemoryHeapHealthIndicator } from './health.indicators';

const MiB = 1024 ** 2;

/** The process checks on Terminus's own indicators, measuring this process and the volume it runs on. */
async function indicators(
  env: Record<string, string>,
): Promise<{ heap: MemoryHeapHealthIndicator; disk: DiskStorageHealthIndicator; config: AppConfig }> {
  const config = testConfig({ DATA_DIR: process.cwd(), ...env });
  const module = await Test.createTestingModule({
    imports: [TerminusModule],
    providers: [
      { provide: AppConfig, useValue: config },
      MemoryHeapHealthIndicator,
      DiskStorageHealthIndicator,
    ],
  }).compile();
  return {
    heap: module.get(MemoryHeapHealthIndicator),
    disk: module.get(DiskStorageHealthIndicator),
    config,
  };
}

describe('process health checks (Terminus MemoryHealthIndicator / DiskHealthIndicator)', () => {
  it('memory_heap is up under HEALTH_MEMORY_HEAP_MAX_BYTES and says the threshold', async () => {
    const { heap } = await indicators({ HEALTH_MEMORY_HEAP_MAX_BYTES: String(16 * 1024 * MiB) });
    const result = await heap.isHealthy();
    expect(result.memory_heap).toMatchObject({ status: 'up', thresholdBytes: 16 * 1024 * MiB });
  });

  it('memory_heap is down once the heap in use exceeds HEALTH_MEMORY_HEAP_MAX_BYTES', async () => {
    // the smallest threshold the configuration allows; a Jest process uses far more heap than this
    expect(process.memoryUsage().heapUsed).toBeGreaterThan(16 * MiB);
    const { heap } = await indicators({ HEALTH_MEMORY_HEAP_MAX_BYTES: String(16 * MiB) });
    const result = await heap.isHealthy();
    expect(result.memory_heap).toMatchObject({
      status: 'down',
      message: `Used heap exceeded the set threshold (threshold ${16 * MiB} bytes)`,
    });
  });

  it('disk is up under HEALTH_DISK_THRESHOLD and names the DATA_DIR it measured', async () => {
    const { disk, config } = await indicators({ HEALTH_DISK_THRESHOLD: '1' });
    const result = await disk.isHealthy();
    expect(result.disk).toMatchObject({ status: 'up', path: config.dataDir, thresholdPercent: 1 });
  });

  it('disk is down once the share of the DATA_DIR volume in use exceeds HEALTH_DISK_THRESHOLD', async () => {
    const s = statfsSync(process.cwd());
    // the volume holding this checkout (and its node_modules) is more than 1 % used
    expect(1 - s.bavail / s.blocks).toBeGreaterThan(0.01);
    const { disk } = await indicators({ HEALTH_DISK_THRESHOLD: '0.01' });
    const result = await disk.isHealthy();
    expect(result.disk).toMatchObject({
      status: 'down',
      message: 'Used disk storage exceeded the set threshold (threshold 1% of the volume)',
    });
  });

  it('a DATA_DIR that does not exist yet is measured on the nearest existing parent', async () => {
    const { disk } = await indicators({
      DATA_DIR: `${process.cwd()}/not-created-${process.pid}/data`,
      HEALTH_DISK_THRESHOLD: '1',
    });
    expect((await disk.isHealthy()).disk.status).toBe('up');
  });
});
