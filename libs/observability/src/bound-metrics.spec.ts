import { Counter, Histogram, OpenMetricsContentType, Registry } from 'prom-client';
import { bindCounter, bindHistogram } from './bound-metrics';

const BUCKETS = [0.001, 0.01, 0.1, 1];

function histograms(): { registry: Registry; viaApi: Histogram<'op'>; bound: Histogram<'op'> } {
  const registry = new Registry();
  const make = (name: string): Histogram<'op'> =>
    new Histogram({ name, help: name, labelNames: ['op'], buckets: BUCKETS, registers: [registry] });
  return { registry, viaApi: make('via_api'), bound: make('bound') };
}

async function valuesOf(metric: Histogram<'op'> | Counter<'op' | 'result'>): Promise<unknown[]> {
  const { values } = await metric.get();
  return values.map((v) => ({
    ...v,
    metricName: (v as { metricName?: string }).metricName?.replace(/^[a-z_]+?(_bucket|_sum|_count)?$/, '$1'),
  }));
}

describe('bound metric series', () => {
  it('a bound histogram series records exactly what observe() with its labels records', async () => {
    const { viaApi, bound } = histograms();
    const series = bindHistogram(bound, { op: 'get' });
    const samples = [0.0005, 0.001, 0.002, 0.05, 0.5, 1, 3, 0, 0.0099];
    for (const v of samples) {
      viaApi.observe({ op: 'get' }, v);
      series.observe(v);
    }
    viaApi.observe({ op: 'set' }, 0.2);
    bindHistogram(bound, { op: 'set' }).observe(0.2);
    expect(await valuesOf(bound)).toEqual(await valuesOf(viaApi));
    const count = (await bound.get()).values.find(
      (v) => v.metricName === 'bound_count' && v.labels.op === 'get',
    );
    expect(count?.value).toBe(samples.length);
  });

  it('a bound counter series records exactly what inc() with its labels records', async () => {
    const registry = new Registry();
    const make = (name: string): Counter<'op' | 'result'> =>
      new Counter({ name, help: name, labelNames: ['op', 'result'], registers: [registry] });
    const viaApi = make('via_api');
    const bound = make('bound');
    const ok = bindCounter(bound, { op: 'get', result: 'ok' });
    for (let i = 0; i < 5; i++) {
      viaApi.inc({ op: 'get', result: 'ok' });
      ok.inc();
    }
    viaApi.inc({ op: 'get', result: 'ok' }, 2.5);
    ok.inc(2.5);
    viaApi.inc({ op: 'get', result: 'error' }, 0);
    bindCounter(bound, { op: 'get', result: 'error' }).inc(0);
    expect(await valuesOf(bound)).toEqual(await valuesOf(viaApi));
  });

  it('adds to a series that already has samples, without zeroing it', async () => {
    const { bound } = histograms();
    bound.observe({ op: 'get' }, 0.5);
    const counter = new Counter({ name: 'c', help: 'c', labelNames: ['op'], registers: [] });
    counter.inc({ op: 'get' }, 3);
    bindHistogram(bound, { op: 'get' }).observe(0.5);
    bindCounter(counter, { op: 'get' }).inc();
    const count = (await bound.get()).values.find((v) => v.metricName === 'bound_count');
    expect(count?.value).toBe(2);
    expect((await counter.get()).values[0].value).toBe(4);
  });

  it('binds again after the metric is reset (a registry reset between tests, remove())', async () => {
    const { registry, bound } = histograms();
    const counter = new Counter({ name: 'c', help: 'c', labelNames: ['op'], registers: [registry] });
    const series = bindHistogram(bound, { op: 'get' });
    const hits = bindCounter(counter, { op: 'get' });
    series.observe(0.5);
    hits.inc();
    registry.resetMetrics();
    series.observe(0.05);
    hits.inc(2);
    const values = (await bound.get()).values;
    expect(values.find((v) => v.metricName === 'bound_count')?.value).toBe(1);
    expect(values.find((v) => v.metricName === 'bound_sum')?.value).toBe(0.05);
    expect((await counter.get()).values[0].value).toBe(2);
    counter.remove('get');
    hits.inc();
    expect((await counter.get()).values[0].value).toBe(1);
  });

  it('refuses what prom-client refuses: a negative counter increment, a non-finite observation', () => {
    const { bound } = histograms();
    const counter = new Counter({ name: 'c', help: 'c', labelNames: ['op'], registers: [] });
    expect(() => bindCounter(counter, { op: 'get' }).inc(-1)).toThrow(
      'It is not possible to decrease a counter',
    );
    expect(() => bindHistogram(bound, { op: 'get' }).observe(Number.NaN)).toThrow(
      'Value is not a valid number',
    );
    expect(() => bindHistogram(bound, { op: 'get' }).observe(Infinity)).toThrow(
      'Value is not a valid number',
    );
  });

  it('refuses a label the metric does not have, as prom-client does', () => {
    const { bound } = histograms();
    const counter = new Counter({ name: 'c', help: 'c', labelNames: ['op'], registers: [] });
    const wrong = { op: 'get', extra: 'x' } as unknown as { op: string };
    expect(() => bindHistogram(bound, wrong).observe(0.1)).toThrow(/extra/);
    expect(() => bindCounter(counter, wrong).inc()).toThrow(/extra/);
  });

  it('with exemplars on, goes through the public API on every call (still correct)', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const withExemplars = new Histogram({
      name: 'ex',
      help: 'ex',
      labelNames: ['op'],
      buckets: BUCKETS,
      registers: [registry],
      enableExemplars: true,
    });
    const series = bindHistogram(withExemplars, { op: 'get' });
    series.observe(0.05);
    series.observe(0.05);
    const count = (await withExemplars.get()).values.find((v) => v.metricName === 'ex_count');
    expect(count?.value).toBe(2);
  });
});
