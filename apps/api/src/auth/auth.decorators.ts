import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';

export const IS_PUBLIC = 'atrium:isPublic';
/** Marks a public operation in the OpenAPI document; openapi.ts turns it into `security: []` and removes it. */
export const PUBLIC_OPERATION = 'x-atrium-public';
/** Probes, scrapes, docs and signed webhooks: no API key, no tenant (and none in the OpenAPI document). */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(PUBLIC_OPERATION, true));

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
