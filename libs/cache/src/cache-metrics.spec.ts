import { Counter, Histogram, Registry } from 'prom-client';
import { CacheMetrics } from './cache-metrics';

/** The same observations through prom-client's plain calls, into a registry of the same metrics. */
function reference(): { registry: Registry; hits: Counter; ops: Counter; duration: Histogram } {
  const registry = new Registry();
  new CacheMetrics(registry, () => ({})); // declares the metrics
  return {
    registry,
    hits: registry.getSingleMetric('cache_hits_total') as Counter,
    ops: registry.getSingleMetric('cache_operations_total') as Counter,
    duration: registry.getSingleMetric('cache_operation_duration_seconds') as Histogram,
  };
}

describe('CacheMetrics', () => {
  it('records through labels() children resolved once per series, with the exposition of plain calls', async () => {
    const registry = new Registry();
    const sut = new CacheMetrics(registry, () => ({}));
    const labels = jest.spyOn(registry.getSingleMetric('cache_operations_total') as Counter, 'labels');
    const ref = reference();
    for (let i = 0; i < 5; i++) {
      sut.hit('l1', 'building');
      sut.op('l1', 'get', 'ok', 0.0003 * i);
      ref.hits.inc({ cache_level: 'l1', key_type: 'building' });
      ref.ops.inc({ cache_level: 'l1', operation: 'get', result: 'ok' });
      ref.duration.observe({ cache_level: 'l1', operation: 'get' }, 0.0003 * i);
    }
    // one child per result of (l1, get), made on first use, none per call
    expect(labels).toHaveBeenCalledTimes(3);
    const [ours, theirs] = await Promise.all([registry.metrics(), ref.registry.metrics()]);
    expect(ours).toBe(theirs);
  });

  it('keeps counting after the registry is reset', async () => {
    const registry = new Registry();
    const sut = new CacheMetrics(registry, () => ({}));
    sut.miss('l2', 'building');
    registry.resetMetrics();
    sut.miss('l2', 'building');
    sut.miss('l2', 'building');
    expect(await registry.metrics()).toContain('cache_misses_total{cache_level="l2",key_type="building"} 2');
  });
});
