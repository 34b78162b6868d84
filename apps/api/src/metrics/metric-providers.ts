import type { FactoryProvider, InjectionToken } from '@nestjs/common';
import { getToken } from '@willsoto/nestjs-prometheus';
import {
  collectDefaultMetrics,
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
  LabelValues,
  Registry,
} from 'prom-client';

/**
 * Metrics as Nest providers, the @willsoto/nestjs-prometheus way — `counterProvider({...})` in a module's
 * providers, `@InjectMetric(name)` where it is recorded — with one difference: the metric is registered
 * in this app's own `Registry` (injected by that class), not prom-client's global one. The DI token is
 * @willsoto's `getToken`, so its `@InjectMetric` works unchanged.
 *
 * Why not @willsoto's own `makeCounterProvider` / `makeHistogramProvider` / `makeGaugeProvider` (checked against
 * 6.1.1, issue 21): they cannot bind to a registry that is itself a provider.
 * - Their options are fixed when the module is declared; what they inject (`inject`) reaches only `collect`,
 *   never the metric's `registers`, so the app's `Registry` — one per app instance, made by `registryProvider`
 *   below — cannot be handed to them. `PrometheusModule.register`/`registerAsync` have no registry option either
 *   (only the Pushgateway takes one).
 * - The metric they make is looked up by name in prom-client's global `register` first and, when found, that
 *   one is returned: tests and benchmarks run several Atrium apps in one process, which would then share every
 *   counter (one app's requests counted in another's /metrics) or, with `registers` pointing elsewhere, get a
 *   fresh metric per app that no registry exposes.
 * Registering their result on the app's registry afterwards (`registry.registerMetric`) would mean calling the
 * `useFactory` of what they return, which their types declare only as `Provider`. These three factories do the
 * same as @willsoto's — same token, same `collect(this, ...injected)` signature for gauges — on the app's registry.
 */

/** Label values that exist (at 0) from startup, so rates and alerts see every series before the first event. */
type Zeroes<L extends string> = { [K in L]?: readonly (string | number)[] };

interface MetricOptions<L extends string> {
  /** Every combination of these values starts at 0 (counters). */
  zeroes?: Zeroes<L>;
}

/** Each injected dependency, then `this` is the gauge: the @willsoto `collect` signature. */
interface GaugeCollect<L extends string> {
  inject?: InjectionToken[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the injected dependencies are whatever `inject` names
  collect?: (this: Gauge<L>, ...deps: any[]) => void | Promise<void>;
}

function combinations<L extends string>(zeroes: Zeroes<L>): Array<LabelValues<L>> {
  let out: Array<LabelValues<L>> = [{}];
  for (const [name, values] of Object.entries(zeroes) as Array<[L, readonly (string | number)[]]>)
    out = out.flatMap((labels) => values.map((v) => ({ ...labels, [name]: v })));
  return out;
}

export function counterProvider<L extends string>(
  config: Omit<CounterConfiguration<L>, 'registers'> & MetricOptions<L>,
): FactoryProvider<Counter<L>> {
  const { zeroes, ...cfg } = config;
  return {
    provide: getToken(cfg.name),
    inject: [Registry],
    useFactory: (registry: Registry) => {
      const counter = new Counter<L>({ ...cfg, registers: [registry] });
      if (zeroes) for (const labels of combinations(zeroes)) counter.inc(labels, 0);
      return counter;
    },
  };
}

export function histogramProvider<L extends string>(
  config: Omit<HistogramConfiguration<L>, 'registers'>,
): FactoryProvider<Histogram<L>> {
  return {
    provide: getToken(config.name),
    inject: [Registry],
    useFactory: (registry: Registry) => new Histogram<L>({ ...config, registers: [registry] }),
  };
}

export function gaugeProvider<L extends string>(
  config: Omit<GaugeConfiguration<L>, 'registers' | 'collect'> & GaugeCollect<L>,
): FactoryProvider<Gauge<L>> {
  const { inject = [], collect, ...cfg } = config;
  return {
    provide: getToken(cfg.name),
    inject: [Registry, ...inject],
    useFactory: (registry: Registry, ...deps: unknown[]) =>
      new Gauge<L>({
        ...cfg,
        registers: [registry],
        ...(collect && {
          collect(this: Gauge<L>) {
            return collect.call(this, ...deps);
          },
        }),
      }),
  };
}

/**
 * This app's registry (`@Inject(Registry)` / `inject: [Registry]`): prom-client's default process and
 * Node.js metrics plus every metric the providers above declare.
 */
export const registryProvider: FactoryProvider<Registry> = {
  provide: Registry,
  useFactory: () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
    // prom-client names these gauges *_total, which `promtool check metrics` rejects (the suffix is for
    // counters); the same numbers stay available per type in nodejs_active_{handles,requests,resources}.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ])
      registry.removeSingleMetric(name);
    return registry;
  },
};
