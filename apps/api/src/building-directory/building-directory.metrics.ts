import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { CacheEvent } from '@libs/cache';
import { counterProvider, gaugeProvider, histogramProvider } from '@app/metrics';
import type { CoordinatesSource, ValidationResult } from './building.types';

const OPERATIONS = ['get_building', 'validate_building', 'get_request_data'] as const;
const OP_STATUSES = ['success', 'not_found', 'error'] as const;
const CACHE_EVENTS = [
  'hit',
  'miss',
  'set',
  'error',
  'stale',
  'invalidate',
] as const satisfies readonly CacheEvent[];
export type BuildingOperation = (typeof OPERATIONS)[number];
export type BuildingOpStatus = (typeof OP_STATUSES)[number];
export type UpstreamErrorType = 'timeout' | 'http_error' | 'parse_error' | 'unknown';

/**
 * The building directory's eight metrics (observability.md: names, labels and buckets are the
 * contract). Every bounded label combination starts at 0 so dashboards and alerts see the series
 * before the first event.
 */
export const BUILDING_DIRECTORY_METRICS = [
  counterProvider({
    name: 'building_directory_requests_total',
    help: 'Building directory operations by operation and outcome',
    labelNames: ['operation', 'status'],
    zeroes: { operation: OPERATIONS, status: OP_STATUSES },
  }),
  histogramProvider({
    name: 'building_directory_request_duration_seconds',
    help: 'Building directory operation duration (cache included)',
    labelNames: ['operation'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  }),
  counterProvider({
    name: 'building_cache_operations_total',
    help: 'Building cache operations: hit, miss, set, error, stale, invalidate',
    labelNames: ['operation'],
    zeroes: { operation: CACHE_EVENTS },
  }),
  gaugeProvider({
    name: 'building_directory_active_connections',
    help: 'Requests to the upstream building directory in flight',
  }),
  counterProvider({
    name: 'building_validations_total',
    help: 'Building validations by result',
    labelNames: ['result'],
    zeroes: { result: ['valid', 'invalid_not_found', 'invalid_inactive', 'error'] },
  }),
  counterProvider({
    name: 'coordinate_extractions_total',
    help: 'Coordinate extractions by result and source shape',
    labelNames: ['result', 'source'],
    zeroes: { result: ['success', 'failure'], source: ['nested', 'flat', 'missing'] },
  }),
  counterProvider({
    name: 'building_directory_errors_total',
    help: 'Upstream building directory errors by type',
    labelNames: ['error_type'],
    zeroes: { error_type: ['timeout', 'http_error', 'parse_error', 'unknown'] },
  }),
  counterProvider({
    name: 'building_denormalization_total',
    help: 'Building denormalisations (request data) by status',
    labelNames: ['status'],
    zeroes: { status: ['success', 'failure'] },
  }),
];

/** The series one operation records into: prom-client `labels()` children, resolved once at start-up. */
interface OperationSeries {
  duration: Histogram.Internal<'operation'>;
  requests: Record<BuildingOpStatus, Counter.Internal>;
}

/** `make` of each value, by value. */
function each<K extends string, V>(keys: readonly K[], make: (key: K) => V): Record<K, V> {
  return Object.fromEntries(keys.map((k) => [k, make(k)])) as Record<K, V>;
}

/** Records the metrics above at the feature's seams: operations, the cache, the upstream client. */
@Injectable()
export class BuildingDirectoryMetrics {
  // every label value is known: the children are resolved up front (a series appears on its first inc)
  private readonly operations: Record<BuildingOperation, OperationSeries>;
  private readonly cacheEvents: Record<CacheEvent, Counter.Internal>;

  constructor(
    @InjectMetric('building_directory_requests_total')
    readonly requests: Counter<'operation' | 'status'>,
    @InjectMetric('building_directory_request_duration_seconds')
    readonly duration: Histogram<'operation'>,
    @InjectMetric('building_cache_operations_total') readonly cacheOperations: Counter<'operation'>,
    @InjectMetric('building_directory_active_connections') readonly activeConnections: Gauge,
    @InjectMetric('building_validations_total') readonly validations: Counter<'result'>,
    @InjectMetric('coordinate_extractions_total')
    readonly coordinateExtractions: Counter<'result' | 'source'>,
    @InjectMetric('building_directory_errors_total') readonly errors: Counter<'error_type'>,
    @InjectMetric('building_denormalization_total') readonly denormalizations: Counter<'status'>,
  ) {
    activeConnections.set(0);
    this.operations = each(OPERATIONS, (operation) => ({
      duration: duration.labels({ operation }),
      requests: each(OP_STATUSES, (status) => requests.labels({ operation, status })),
    }));
    this.cacheEvents = each(CACHE_EVENTS, (operation) => cacheOperations.labels({ operation }));
  }

  /** Times an operation and counts its outcome. */
  async track<T>(
    operation: BuildingOperation,
    fn: () => Promise<T>,
    statusOf: (value: T) => BuildingOpStatus = () => 'success',
    errorStatus: (err: unknown) => BuildingOpStatus = () => 'error',
  ): Promise<T> {
    const started = process.hrtime.bigint();
    const series = this.operations[operation];
    try {
      const value = await fn();
      series.requests[statusOf(value)].inc();
      return value;
    } catch (err) {
      series.requests[errorStatus(err)].inc();
      throw err;
    } finally {
      series.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  cacheEvent(event: CacheEvent, count: number): void {
    this.cacheEvents[event].inc(count);
  }

  validation(result: ValidationResult): void {
    this.validations.inc({ result });
  }

  coordinates(result: 'success' | 'failure', source: CoordinatesSource): void {
    this.coordinateExtractions.inc({ result, source });
  }

  upstreamError(type: UpstreamErrorType): void {
    this.errors.inc({ error_type: type });
  }
}
