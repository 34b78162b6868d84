import { SetMetadata } from '@nestjs/common';

export type RateLimitGroup = 'default' | 'search' | 'upload' | 'download' | 'batch';
export const RATE_LIMIT_GROUP = 'atrium:rateLimitGroup';

/**
 * Puts a route in a rate-limit group (limits per API key, or per client IP with auth off; the group's
 * limit is RATE_LIMIT_<GROUP> per RATE_LIMIT_WINDOW_MS). Routes without it count against `default`.
 */
export const RateLimit = (group: RateLimitGroup): MethodDecorator & ClassDecorator =>
  SetMetadata(RATE_LIMIT_GROUP, group);
