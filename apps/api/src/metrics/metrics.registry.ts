import { Injectable } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
  Registry,
} from 'prom-client';

/**
 * One prom-client Registry per application instance (never the global default registry: two apps in
 * one process — tests, benchmarks — would share or collide). Features create their metrics here, at
 * the seam they instrument; asking twice for a name returns the same metric.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    // prom-client names these gauges *_total, which `promtool check metrics` rejects (the suffix is for
    // counters); the same numbers stay available per type in nodejs_active_{handles,requests,resources}.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ])
      this.registry.removeSingleMetric(name);
  }

  counter<L extends string>(cfg: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return this.getOrCreate(cfg.name, () => new Counter<L>({ ...cfg, registers: [this.registry] }));
  }

  gauge<L extends string>(cfg: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return this.getOrCreate(cfg.name, () => new Gauge<L>({ ...cfg, registers: [this.registry] }));
  }

  histogram<L extends string>(cfg: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return this.getOrCreate(cfg.name, () => new Histogram<L>({ ...cfg, registers: [this.registry] }));
  }

  private getOrCreate<M>(name: string, create: () => M): M {
    return (this.registry.getSingleMetric(name) as M | undefined) ?? create();
  }
}
