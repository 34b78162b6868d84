import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import type { Attribution } from '@app/metrics/sliding-window';

interface CallerOriginConfig {
  /** Error codes that mean "the caller's origin failed" on this route. */
  callerOrigin?: readonly string[];
}

/**
 * Marks a route that fetches a URL the caller gave (the downloader): its latency is the origin's, and
 * answers with one of `originFailureCodes` (the origin's 4xx/5xx, refusals, timeouts, a blocked URL…)
 * are the origin's failures, not Atrium's — the health score leaves both out (README "Health score").
 */
export const FetchesCallerUrl = (originFailureCodes: readonly string[]): MethodDecorator =>
  RouteConfig({ callerOrigin: originFailureCodes } satisfies CallerOriginConfig);

/** How the HTTP metrics attribute a finished request (undefined: an ordinary route, all ours). */
export function attributionOf(
  request: FastifyRequest,
  errorCode: string | undefined,
): Attribution | undefined {
  const codes = (request.routeOptions.config as CallerOriginConfig | undefined)?.callerOrigin;
  if (!codes) return undefined;
  return { callerOrigin: true, originFailure: errorCode !== undefined && codes.includes(errorCode) };
}
