import { Injectable } from '@nestjs/common';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { CacheEvent } from '@libs/cache';
import { MetricsRegistry } from '@app/metrics/metrics.registry';
import type { CoordinatesSource, ValidationResult } from './building.types';

export type BuildingOperation = 'get_building' | 'validate_building' | 'get_request_data';
export type BuildingOpStatus = 'success' | 'not_found' | 'error';
export type UpstreamErrorType = 'timeout' | 'http_error' | 'parse_error' | 'unknown';

/**
 * The building directory's eight metrics (observability.md: names, labels and buckets are the
 * contract). Every bounded label combination starts at 0 so dashboards and alerts see the series
 * before the first event.
 */
@Injectable()
export class BuildingDirectoryMetrics {
  readonly requests: Counter<'operation' | 'status'>;
  readonly duration: Histogram<'operation'>;
  readonly cacheOperations: Counter<'operation'>;
  readonly activeConnections: Gauge;
  readonly validations: Counter<'result'>;
  readonly coordinateExtractions: Counter<'result' | 'source'>;
  readonly errors: Counter<'error_type'>;
  readonly denormalizations: Counter<'status'>;

  constructor(metrics: MetricsRegistry) {
    this.requests = metrics.counter({
      name: 'building_directory_requests_total',
      help: 'Building directory operations by operation and outcome',
      labelNames: ['operation', 'status'],
    });
    this.duration = metrics.histogram({
      name: 'building_directory_request_duration_seconds',
      help: 'Building directory operation duration (cache included)',
      labelNames: ['operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.cacheOperations = metrics.counter({
      name: 'building_cache_operations_total',
      help: 'Building cache operations: hit, miss, set, error, stale, invalidate',
      labelNames: ['operation'],
    });
    this.activeConnections = metrics.gauge({
      name: 'building_directory_active_connections',
      help: 'Requests to the upstream building directory in flight',
    });
    this.validations = metrics.counter({
      name: 'building_validations_total',
      help: 'Building validations by result',
      labelNames: ['result'],
    });
    this.coordinateExtractions = metrics.counter({
      name: 'coordinate_extractions_total',
      help: 'Coordinate extractions by result and source shape',
      labelNames: ['result', 'source'],
    });
    this.errors = metrics.counter({
      name: 'building_directory_errors_total',
      help: 'Upstream building directory errors by type',
      labelNames: ['error_type'],
    });
    this.denormalizations = metrics.counter({
      name: 'building_denormalization_total',
      help: 'Building denormalisations (request data) by status',
      labelNames: ['status'],
    });

    for (const operation of ['get_building', 'validate_building', 'get_request_data'] as const)
      for (const status of ['success', 'not_found', 'error'] as const)
        this.requests.inc({ operation, status }, 0);
    for (const operation of ['hit', 'miss', 'set', 'error', 'stale', 'invalidate'] as const)
      this.cacheOperations.inc({ operation }, 0);
    for (const result of ['valid', 'invalid_not_found', 'invalid_inactive', 'error'] as const)
      this.validations.inc({ result }, 0);
    for (const result of ['success', 'failure'] as const)
      for (const source of ['nested', 'flat', 'missing'] as const)
        this.coordinateExtractions.inc({ result, source }, 0);
    for (const error_type of ['timeout', 'http_error', 'parse_error', 'unknown'] as const)
      this.errors.inc({ error_type }, 0);
    for (const status of ['success', 'failure'] as const) this.denormalizations.inc({ status }, 0);
    this.activeConnections.set(0);
  }

  /** Times an operation and counts its outcome. */
  async track<T>(
    operation: BuildingOperation,
    fn: () => Promise<T>,
    statusOf: (value: T) => BuildingOpStatus = () => 'success',
    errorStatus: (err: unknown) => BuildingOpStatus = () => 'error',
  ): Promise<T> {
    const end = this.duration.startTimer({ operation });
    try {
      const value = await fn();
      this.requests.inc({ operation, status: statusOf(value) });
      return value;
    } catch (err) {
      this.requests.inc({ operation, status: errorStatus(err) });
      throw err;
    } finally {
      end();
    }
  }

  cacheEvent(event: CacheEvent, count: number): void {
    this.cacheOperations.inc({ operation: event }, count);
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
