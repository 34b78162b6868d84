import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { setContextTenant } from '@libs/observability';
import { AppConfig } from '@app/config';
import { RouteMetadataCache } from '@app/routes';
import { ApiKeyStore, presentedKey } from './api-keys';
import { AuthFailureThrottle } from './auth-failures';
import { AuthenticatedRequest, IS_PUBLIC, kPrincipal, Principal } from './auth.decorators';
import {
  AuthThrottledError,
  TenantForbiddenError,
  TenantInvalidError,
  TenantRequiredError,
  UnauthenticatedError,
} from './auth.errors';

const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Global guard: every route needs an API key unless marked @Public (or auth is off), and resolves the
 * tenant per the contract — the key's tenant; for a `*` key the X-Tenant-ID header; with auth off the
 * header or DEFAULT_TENANT_ID.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly isPublic: RouteMetadataCache<boolean>;
  private readonly logger = new Logger('Auth');

  constructor(
    reflector: Reflector,
    private readonly config: AppConfig,
    private readonly keys: ApiKeyStore,
    private readonly failures: AuthFailureThrottle,
    @InjectMetric('auth_failures_total') private readonly failureCount: Counter<'result'>,
  ) {
    this.isPublic = new RouteMetadataCache(reflector, IS_PUBLIC);
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    if (this.isPublic.get(context)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = this.resolve(request);
    (request as AuthenticatedRequest)[kPrincipal] = principal;
    setContextTenant(principal.tenantId);
    return true;
  }

  private resolve(request: FastifyRequest): Principal {
    const header = request.headers['x-tenant-id'];
    const requested = typeof header === 'string' && header.length > 0 ? header : undefined;
    if (requested !== undefined && !TENANT_PATTERN.test(requested)) throw new TenantInvalidError();

    if (this.config.auth.open) {
      return { tenantId: requested ?? this.config.auth.defaultTenantId, clientId: `ip:${request.ip}` };
    }
    const key = presentedKey(request.headers);
    const match = key !== undefined ? this.keys.find(key) : undefined;
    if (!match) throw this.failed(request);
    if (match.tenant === '*') {
      if (requested === undefined) throw new TenantRequiredError();
      return { tenantId: requested, clientId: match.fingerprint };
    }
    if (requested !== undefined && requested !== match.tenant) throw new TenantForbiddenError();
    return { tenantId: match.tenant, clientId: match.fingerprint };
  }

  /** A request without a valid key: 401, or 429 once its address has failed too often (auth-failures.ts). */
  private failed(request: FastifyRequest): Error {
    const verdict = this.failures.fail(request.ip);
    if (!verdict.throttled) {
      this.failureCount.inc({ result: 'rejected' });
      return new UnauthenticatedError();
    }
    this.failureCount.inc({ result: 'throttled' });
    if (verdict.first)
      this.logger.warn(
        {
          client: request.ip,
          limit: this.config.auth.failureLimit,
          retryAfterSeconds: verdict.retryAfterSeconds,
        },
        `Client ${request.ip} passed AUTH_FAILURE_LIMIT (${this.config.auth.failureLimit} failed authentications): ` +
          `its requests without a valid key get 429 for ${verdict.retryAfterSeconds} s`,
      );
    return new AuthThrottledError(verdict.retryAfterSeconds);
  }
}
