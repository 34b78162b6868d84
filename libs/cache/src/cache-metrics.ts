import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type CacheLevel = 'l1' | 'l2';
export type CacheOperation = 'get' | 'set' | 'del' | 'invalidate';
export type CacheOpResult = 'ok' | 'error' | 'timeout';

/** The series one (level, operation) records into. */
interface OpSeries {
  results: Record<CacheOpResult, Counter.Internal>;
  duration: Histogram.Internal<'cache_level' | 'operation'>;
}

interface KeyTypeStats {
  hits: number;
  misses: number;
}

/** The series and in-memory counts of one (level, key type). */
interface KeyTypeSeries {
  hits: Counter.Internal;
  misses: Counter.Internal;
  stats: KeyTypeStats;
}

/**
 * The cache metrics of observability.md, recorded once at the seam (every cache of the process goes
 * through here), plus in-memory counters for the /metrics/cache and /metrics/live JSON views.
 */
export class CacheMetrics {
  private readonly hits: Counter<'cache_level' | 'key_type'>;
  private readonly misses: Counter<'cache_level' | 'key_type'>;
  private readonly ops: Counter<'cache_level' | 'operation' | 'result'>;
  private readonly duration: Histogram<'cache_level' | 'operation'>;
  private readonly stats: Record<CacheLevel, Map<string, KeyTypeStats>> = { l1: new Map(), l2: new Map() };
  private readonly opStats: Record<CacheLevel, Record<CacheOpResult, number>> = {
    l1: { ok: 0, error: 0, timeout: 0 },
    l2: { ok: 0, error: 0, timeout: 0 },
  };

  /** `l1Sizes`: entries per key type, read when Prometheus scrapes (cache_size). */
  constructor(registry: Registry, l1Sizes: () => Record<string, number>) {
    this.hits = new Counter({
      name: 'cache_hits_total',
      help: 'Cache hits (fresh entries) by level and key type',
      labelNames: ['cache_level', 'key_type'],
      registers: [registry],
    });
    this.misses = new Counter({
      name: 'cache_misses_total',
      help: 'Cache misses (absent or no longer fresh) by level and key type',
      labelNames: ['cache_level', 'key_type'],
      registers: [registry],
    });
    this.ops = new Counter({
      name: 'cache_operations_total',
      help: 'Cache operations by level, operation (get, set, del, invalidate) and result (ok, error, timeout)',
      labelNames: ['cache_level', 'operation', 'result'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'cache_operation_duration_seconds',
      help: 'Cache operation duration by level and operation',
      labelNames: ['cache_level', 'operation'],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers: [registry],
    });
    new Gauge({
      name: 'cache_size',
      help: 'Entries held in the in-process cache (L1) by key type',
      labelNames: ['cache_level', 'key_type'],
      registers: [registry],
      collect() {
        for (const [keyType, n] of Object.entries(l1Sizes()))
          this.set({ cache_level: 'l1', key_type: keyType }, n);
      },
    });
  }

  hit(level: CacheLevel, keyType: string): void {
    const series = this.keyTypeSeries(level, keyType);
    series.hits.inc();
    series.stats.hits++;
  }

  miss(level: CacheLevel, keyType: string): void {
    const series = this.keyTypeSeries(level, keyType);
    series.misses.inc();
    series.stats.misses++;
  }

  op(level: CacheLevel, operation: CacheOperation, result: CacheOpResult, seconds?: number): void {
    const series = this.opSeries(level, operation);
    series.results[result].inc();
    this.opStats[level][result]++;
    if (seconds !== undefined) series.duration.observe(seconds);
  }

  // Series are resolved once per (level, key type) and (level, operation) — prom-client's public `labels()`
  // children: every lookup records several observations, none of which builds a label object.
  private readonly keyTypeSeriesSets: Record<CacheLevel, Map<string, KeyTypeSeries>> = {
    l1: new Map(),
    l2: new Map(),
  };
  private readonly opSeriesSets: Record<CacheLevel, Partial<Record<CacheOperation, OpSeries>>> = {
    l1: {},
    l2: {},
  };

  private keyTypeSeries(level: CacheLevel, keyType: string): KeyTypeSeries {
    let series = this.keyTypeSeriesSets[level].get(keyType);
    if (!series) {
      const labels = { cache_level: level, key_type: keyType };
      let stats = this.stats[level].get(keyType);
      if (!stats) this.stats[level].set(keyType, (stats = { hits: 0, misses: 0 }));
      series = { hits: this.hits.labels(labels), misses: this.misses.labels(labels), stats };
      this.keyTypeSeriesSets[level].set(keyType, series);
    }
    return series;
  }

  private opSeries(level: CacheLevel, operation: CacheOperation): OpSeries {
    let series = this.opSeriesSets[level][operation];
    if (!series) {
      const result = (r: CacheOpResult): Counter.Internal =>
        this.ops.labels({ cache_level: level, operation, result: r });
      series = {
        results: { ok: result('ok'), error: result('error'), timeout: result('timeout') },
        duration: this.duration.labels({ cache_level: level, operation }),
      };
      this.opSeriesSets[level][operation] = series;
    }
    return series;
  }

  /** Hits, misses and hit rate per level and key type (what /metrics/cache shows). */
  snapshot(): Record<CacheLevel, Record<string, KeyTypeStats & { hitRate: number | null }>> {
    const view = (m: Map<string, KeyTypeStats>): Record<string, KeyTypeStats & { hitRate: number | null }> =>
      Object.fromEntries(
        [...m].map(([k, s]) => [
          k,
          {
            ...s,
            hitRate: s.hits + s.misses > 0 ? Math.round((s.hits / (s.hits + s.misses)) * 1000) / 1000 : null,
          },
        ]),
      );
    return { l1: view(this.stats.l1), l2: view(this.stats.l2) };
  }

  operations(level: CacheLevel): Record<CacheOpResult, number> {
    return { ...this.opStats[level] };
  }
}
