import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export const IS_PUBLIC = 'atrium:isPublic';
/** Probes, scrapes, docs and signed webhooks: no API key, no tenant. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

export interface Principal {
  tenantId: string;
  /** Stable, non-secret identity of the caller for rate limits: a key fingerprint, or the client IP when auth is off. */
  clientId: string;
}

export const kPrincipal = Symbol('atrium.principal');
export type AuthenticatedRequest = FastifyRequest & { [kPrincipal]?: Principal };

export function principalOf(request: FastifyRequest): Principal | undefined {
  return (request as AuthenticatedRequest)[kPrincipal];
}

/** The tenant the guard resolved for this request. */
export const TenantId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const principal = principalOf(ctx.switchToHttp().getRequest<FastifyRequest>());
  if (!principal) throw new Error('TenantId used on a route without tenant resolution (is it @Public?)');
  return principal.tenantId;
});
