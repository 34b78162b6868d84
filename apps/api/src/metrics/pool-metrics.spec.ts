import { Logger } from '@nestjs/common';
import { Gauge, Histogram, Registry } from 'prom-client';
import { FairPool } from '@libs/scheduling';
import { POOL_METRICS, POOL_NAMES, PoolMetrics } from './pool-metrics';

describe('PoolMetrics', () => {
  const registry = new Registry();
  const sut = new PoolMetrics(POOL_METRICS[0].useFactory(registry) as Histogram<'pool'>);
  (POOL_METRICS[1].useFactory as (r: Registry, p: PoolMetrics) => Gauge)(registry, sut);
  const value = async (line: string): Promise<number | undefined> => {
    const m = new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(await registry.metrics());
    return m ? Number(m[1]) : undefined;
  };

  it('exports every pool at 0 from the start, by pool only', async () => {
    for (const pool of POOL_NAMES) {
      expect(await value(`pool_wait_seconds_count{pool="${pool}"}`)).toBe(0);
      expect(await value(`pool_in_use{pool="${pool}"}`)).toBe(0);
    }
    expect(await registry.metrics()).not.toMatch(/tenant/);
  });

  it('records each grant and abandoned wait, reads the slots in use at scrape time, and logs tenants only', async () => {
    const logs: unknown[][] = [];
    const warn = jest
      .spyOn(Logger.prototype, 'warn')
      .mockImplementation((...a: unknown[]) => void logs.push(a));
    try {
      const pool = new FairPool({ name: 'extraction', limit: 1, queueMax: 1 });
      sut.register('extraction', pool);
      const release = await pool.acquire('acme');
      expect(await value('pool_in_use{pool="extraction"}')).toBe(1);
      const waiting = pool.acquire('demo', { timeoutMs: 10 });
      await expect(pool.acquire('demo')).rejects.toMatchObject({ reason: 'tenant_queue_full' });
      await expect(waiting).rejects.toThrow('No slot');
      release();
      expect(await value('pool_wait_seconds_count{pool="extraction"}')).toBe(2); // the grant and the timeout
      expect(await value('pool_in_use{pool="extraction"}')).toBe(0);
      // one refusal line per pool per interval, naming the tenant and the reason
      expect(logs).toHaveLength(1);
      expect(logs[0][0]).toMatchObject({ pool: 'extraction', tenantId: 'demo', reason: 'tenant_queue_full' });
      sut.registerInUse('batch', () => 3);
      expect(await value('pool_in_use{pool="batch"}')).toBe(3);
      sut.waited('batch', 2.5);
      expect(await value('pool_wait_seconds_sum{pool="batch"}')).toBe(2.5);
    } finally {
      warn.mockRestore();
    }
  });
});
