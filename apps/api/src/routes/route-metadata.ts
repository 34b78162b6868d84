import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';

/**
 * Route metadata read once per (controller class, handler) and remembered: guards run on every request,
 * and two reflect-metadata lookups per key per request showed up in the hot-path profile. Metadata is
 * fixed at startup, so the cache never goes stale. The key is the pair, not the handler alone: two
 * controllers that inherit one handler from a base class share the function but not their class-level
 * metadata (`@Public()` on one of them must not make the other public).
 */
export class RouteMetadataCache<T> {
  private readonly byClass = new WeakMap<object, WeakMap<object, T | undefined>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly key: string,
  ) {}

  get(context: ExecutionContext): T | undefined {
    const cls = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.byClass.get(cls);
    if (byHandler === undefined) this.byClass.set(cls, (byHandler = new WeakMap()));
    if (byHandler.has(handler)) return byHandler.get(handler);
    const value = this.reflector.getAllAndOverride<T | undefined>(this.key, [handler, cls]);
    byHandler.set(handler, value);
    return value;
  }
}
