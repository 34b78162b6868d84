import { Logger } from '@nestjs/common';
import { Dispatcher, Pool } from 'undici';
import { currentRequestId, redactUrl } from '@libs/observability';
import type { AppConfig } from '@app/config';
import { withRetries } from '@app/resilience';
import type { Building, BuildingSource } from './building.types';
import { UpstreamError, UpstreamTimeoutError } from './building-directory.errors';
import type { BuildingDirectoryMetrics, UpstreamErrorType } from './building-directory.metrics';

type Settings = AppConfig['buildingDirectory'] & { url: string };

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** Statuses worth another try for an idempotent GET. */
const RETRYABLE_STATUS = new Set([500, 502, 503, 504]);

/**
 * The upstream User Service: `GET {url}/buildings/{id}` with X-Tenant-ID, X-Request-ID and the bearer
 * token, on a keep-alive undici Pool. Each attempt is bounded (connect timeout + request timeout);
 * transient failures (network, timeout, 500/502/503/504) are retried up to BUILDING_DIRECTORY_RETRIES times
 * through Atrium's retry policy (p-retry, resilience/retry.ts: exponential backoff with jitter, ≤ 1 s).
 * What stays here: which failures are transient, and a metric for every failed attempt. 404 is "not found"
 * (null), never retried.
 */
export class BuildingDirectoryClient implements BuildingSource {
  readonly kind = 'http' as const;
  readonly description: string;
  private readonly logger = new Logger(BuildingDirectoryClient.name);
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(
    private readonly settings: Settings,
    private readonly metrics: BuildingDirectoryMetrics,
  ) {
    const url = new URL(settings.url);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.description = `http ${redactUrl(settings.url)}`;
    this.pool = new Pool(url.origin, {
      connections: settings.connections,
      keepAliveTimeout: 30_000,
      connect: { timeout: settings.connectTimeoutMs },
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    });
  }

  async getBuilding(tenantId: string, buildingId: string): Promise<Building | null> {
    let attempts = 0;
    try {
      return await withRetries(
        { retries: this.settings.retries, ...DIRECTORY_BACKOFF },
        async (attempt) => {
          attempts = attempt;
          try {
            return await this.attempt(tenantId, buildingId);
          } catch (err) {
            this.metrics.upstreamError(errorType(err)); // every failed attempt, retried or not
            throw err;
          }
        },
        {
          retryable: (err) =>
            err instanceof UpstreamTimeoutError ||
            (err instanceof UpstreamError && (err as RetryMark).retryable === true),
        },
      );
    } catch (err) {
      this.logger.warn(
        `Building directory ${errorType(err)} for ${buildingId} after ${attempts} attempt(s): ${(err as Error).message}`,
      );
      throw err instanceof UpstreamError || err instanceof UpstreamTimeoutError
        ? err
        : new UpstreamError('The building directory request failed', 'unknown');
    }
  }

  async health(): Promise<Record<string, unknown>> {
    const res = await this.pool.request({
      path: `${this.basePath}/`,
      method: 'GET',
      headersTimeout: this.settings.timeoutMs,
      bodyTimeout: this.settings.timeoutMs,
    });
    await res.body.dump();
    if (res.statusCode >= 500) throw new Error(`building directory answered ${res.statusCode}`);
    const stats = this.pool.stats;
    return {
      source: 'http',
      url: redactUrl(this.settings.url),
      connected: stats.connected,
      pending: stats.pending,
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async attempt(tenantId: string, buildingId: string): Promise<Building | null> {
    const headers: Record<string, string> = { accept: 'application/json', 'x-tenant-id': tenantId };
    const requestId = currentRequestId();
    if (requestId) headers['x-request-id'] = requestId;
    if (this.settings.token) headers.authorization = `Bearer ${this.settings.token}`;
    const signal = AbortSignal.timeout(this.settings.timeoutMs + this.settings.connectTimeoutMs);
    this.metrics.activeConnections.inc();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        path: `${this.basePath}/buildings/${encodeURIComponent(buildingId)}`,
        method: 'GET',
        headers,
        signal,
      });
    } catch (err) {
      this.metrics.activeConnections.dec();
      throw this.classify(err, signal);
    }
    try {
      if (res.statusCode === 404) {
        await res.body.dump();
        return null;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        const e = new UpstreamError(
          `The building directory answered ${res.statusCode}`,
          'http_error',
          res.statusCode,
        );
        (e as RetryMark).retryable = RETRYABLE_STATUS.has(res.statusCode);
        throw e;
      }
      let body: unknown;
      try {
        body = await res.body.json();
      } catch (err) {
        if (signal.aborted || TIMEOUT_CODES.has((err as { code?: string }).code ?? ''))
          throw new UpstreamTimeoutError();
        throw new UpstreamError('The building directory sent a body that is not JSON', 'parse_error');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new UpstreamError(
          'The building directory sent something that is not a building',
          'parse_error',
        );
      return body as Building;
    } finally {
      this.metrics.activeConnections.dec();
    }
  }

  private classify(err: unknown, signal: AbortSignal): Error {
    const code = (err as { code?: string }).code ?? '';
    if (signal.aborted || TIMEOUT_CODES.has(code)) return new UpstreamTimeoutError();
    // connection refused/reset, DNS, socket closed: the upstream is unreachable right now
    const e = new UpstreamError('The building directory is unreachable', 'http_error');
    (e as RetryMark).retryable = true;
    return e;
  }
}

type RetryMark = { retryable?: boolean };

/** 50–100 ms, 100–200 ms, 200–400 ms, … at most 1 s: a lookup on a request's path waits little. */
const DIRECTORY_BACKOFF = { firstDelayMs: 50, maxDelayMs: 1000 };

function errorType(err: unknown): UpstreamErrorType {
  if (err instanceof UpstreamTimeoutError) return 'timeout';
  return err instanceof UpstreamError ? err.errorType : 'unknown';
}
