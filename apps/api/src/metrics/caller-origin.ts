import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';

interface CallerOriginConfig {
  callerOrigin?: boolean;
}

/**
 * Marks a route that fetches a URL the caller gave (the downloader): its latency is the origin's, not
 * Atrium's, so the health score leaves it out (README "Health score"). Its failures are told apart by
 * their errors' `fault` (`target`), on this route as on any other.
 */
export const FetchesCallerUrl = (): MethodDecorator =>
  RouteConfig({ callerOrigin: true } satisfies CallerOriginConfig);

/** Whether a finished request fetched a caller's URL (its duration is the origin's). */
export function fetchesCallerUrl(request: FastifyRequest): boolean {
  return (request.routeOptions.config as CallerOriginConfig | undefined)?.callerOrigin === true;
}
