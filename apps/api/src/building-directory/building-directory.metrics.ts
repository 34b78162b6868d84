import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { CacheEvent } from '@libs/cache';
import { bindCounter, bindHistogram, BoundCounter, BoundHistogram } from '@libs/observability';
import { counterProvider, gaugeProvider, histogramProvider } from '@app/metrics/metric-providers';
import type { CoordinatesSource, ValidationResult } from './building.types';

export type BuildingOperation = 'get_building' | 'validate_building' | 'get_request_data';
export type BuildingOpStatus = 'success' | 'not_found' | 'error';
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
    zeroes: {
      operation: ['get_building', 'validate_building', 'get_request_data'],
      status: ['success', 'not_found', 'error'],
    },
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
    zeroes: { operation: ['hit', 'miss', 'set', 'error', 'stale', 'invalidate'] },
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

/** The series one operation records into, bound once (no label hashing per request). */
interface OperationSeries {
  duration: BoundHistogram;
  requests: Map<BuildingOpStatus, BoundCounter>;
}

/** Records the metrics above at the feature's seams: operations, the cache, the upstream client. */
@Injectable()
export class BuildingDirectoryMetrics {
  private readonly operations = new Map<BuildingOperation, OperationSeries>();
  private readonly cacheEvents = new Map<CacheEvent, BoundCounter>();

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
  }

  /** Times an operation and counts its outcome. */
  async track<T>(
    operation: BuildingOperation,
    fn: () => Promise<T>,
    statusOf: (value: T) => BuildingOpStatus = () => 'success',
    errorStatus: (err: unknown) => BuildingOpStatus = () => 'error',
  ): Promise<T> {
    const started = process.hrtime.bigint();
    const series = this.seriesOf(operation);
    try {
      const value = await fn();
      this.requestsOf(series, operation, statusOf(value)).inc();
      return value;
    } catch (err) {
      this.requestsOf(series, operation, errorStatus(err)).inc();
      throw err;
    } finally {
      series.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  cacheEvent(event: CacheEvent, count: number): void {
    let series = this.cacheEvents.get(event);
    if (!series)
      this.cacheEvents.set(event, (series = bindCounter(this.cacheOperations, { operation: event })));
    series.inc(count);
  }

  private seriesOf(operation: BuildingOperation): OperationSeries {
    let series = this.operations.get(operation);
    if (!series) {
      series = { duration: bindHistogram(this.duration, { operation }), requests: new Map() };
      this.operations.set(operation, series);
    }
    return series;
  }

  private requestsOf(
    series: OperationSeries,
    operation: BuildingOperation,
    status: BuildingOpStatus,
  ): BoundCounter {
    let counter = series.requests.get(status);
    if (!counter) series.requests.set(status, (counter = bindCounter(this.requests, { operation, status })));
    return counter;
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
