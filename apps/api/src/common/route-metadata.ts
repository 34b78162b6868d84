import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';

/**
 * Route metadata read once per handler and remembered: guards run on every request, and two
 * reflect-metadata lookups per key per request showed up in the hot-path profile. Metadata is fixed
 * at startup, so the cache never goes stale; it holds one entry per route handler.
 */
export class RouteMetadataCache<T> {
  private readonly byHandler = new WeakMap<object, T | undefined>();

  constructor(
    private readonly reflector: Reflector,
    private readonly key: string,
  ) {}

  get(context: ExecutionContext): T | undefined {
    const handler = context.getHandler();
    if (this.byHandler.has(handler)) return this.byHandler.get(handler);
    const value = this.reflector.getAllAndOverride<T | undefined>(this.key, [handler, context.getClass()]);
    this.byHandler.set(handler, value);
    return value;
  }
}
