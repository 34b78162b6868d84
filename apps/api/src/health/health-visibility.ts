import { Injectable } from '@nestjs/common';
import type { HealthCheckResult, HealthIndicatorResult } from '@nestjs/terminus';
import type { FastifyRequest } from 'fastify';
import { ApiKeyStore, presentedKey } from '@app/auth';
import { AppConfig } from '@app/config';

/**
 * Who sees the details of /health and /health/ready. Probes need no key and only need the status, so
 * a caller without a valid API key gets each check's status alone: the details (filesystem paths, the
 * database kind and pool, upstream URLs, error messages) tell an outsider how the service is built.
 * Any valid key sees everything, and so does everyone when auth is off (local use). The details always
 * reach the log when a check changes state (HealthController).
 */
@Injectable()
export class HealthVisibility {
  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeyStore,
  ) {}

  showsDetails(request: FastifyRequest): boolean {
    if (this.config.auth.open) return true;
    const key = presentedKey(request.headers);
    return key !== undefined && this.keys.find(key) !== undefined;
  }

  /** The result as `request` may see it. */
  view(request: FastifyRequest, result: HealthCheckResult): HealthCheckResult {
    return this.showsDetails(request) ? result : statusesOnly(result);
  }
}

export function statusesOnly(result: HealthCheckResult): HealthCheckResult {
  const strip = (checks: Partial<HealthIndicatorResult> | undefined): HealthIndicatorResult | undefined =>
    checks &&
    Object.fromEntries(
      Object.entries(checks).flatMap(([name, check]) => (check ? [[name, { status: check.status }]] : [])),
    );
  return {
    status: result.status,
    info: strip(result.info),
    error: strip(result.error),
    details: strip(result.details) ?? {},
  };
}
