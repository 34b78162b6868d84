import { AsyncResource } from 'node:async_hooks';
import type { CallHandler, ContextType, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { SSE_METADATA } from '@nestjs/common/constants';
import { isEmpty } from '@nestjs/common/utils/shared.utils';
import { InterceptorsConsumer } from '@nestjs/core/interceptors/interceptors-consumer';
import { defer, isObservable, lastValueFrom, mergeAll, ObservableInput } from 'rxjs';

type Intercept = InterceptorsConsumer['intercept'];

/**
 * An interceptor that can also run as a promise: `interceptAsync(context, next)` does what its
 * `intercept(context, { handle })` does, with `next()` resolving to the handler's value. When every
 * interceptor of a route has it, the chain runs without rxjs (Atrium's CacheInterceptor has both: it
 * stays a NestInterceptor for anything else that runs it). `next()` must be called from the step's own
 * call (or a promise continuation of it): nothing binds it to the step's async context, as Nest's
 * `AsyncResource.bind` does for `handle()` — a step that calls it from a foreign callback (an event, a
 * timer) would run the handler outside the request's context.
 */
export interface PromiseInterceptor {
  interceptAsync(context: ExecutionContext, next: () => Promise<unknown>): Promise<unknown>;
}

function isPromiseInterceptor(
  interceptor: NestInterceptor,
): interceptor is NestInterceptor & PromiseInterceptor {
  return typeof (interceptor as Partial<PromiseInterceptor>).interceptAsync === 'function';
}
const kInstalled = Symbol.for('atrium.interceptorScope');

/** `fn`, run in the async context current now (what AsyncResource.bind does, minus its deprecated property). */
function scoped<T>(fn: () => T): () => T {
  const resource = new AsyncResource('bound-anonymous-fn');
  return () => resource.runInAsyncScope(fn);
}

/**
 * Nest 11's InterceptorsConsumer runs each step of a route's interceptor chain in the caller's async
 * context through `AsyncResource.bind` — and on Node 24 every bind also builds two `util.deprecate`
 * wrappers for the bound function's deprecated `asyncResource` property (DEP0172): ~10 µs and a handful
 * of closures per bind, two binds per request on every route with an interceptor (the cached building,
 * search and download routes), the largest single cost on the cached lookup's path
 * (test/load/reports/building-benchmark.md). This puts in the same chain, bound the same way — a new
 * AsyncResource per step, the step run in its scope — without those wrappers. Nothing reads the
 * deprecated property.
 *
 * And it hands the router the chain's last value (a promise) instead of the Observable: given an
 * Observable, Nest's router wraps every response of a route with interceptors in a client-disconnect
 * watch (a ReplaySubject, `switchMap`, `tap`, `takeUntil`, then `lastValueFrom` — a dozen rxjs objects per
 * request) that only ever fires for a handler that itself returns an Observable. Atrium's handlers return
 * promises or values; the router then takes the value as it takes a handler's value on a route without
 * interceptors. Server-sent-event handlers (`@Sse`) still get the Observable.
 *
 * What is given up: Nest's teardown of a handler's own Observable (and its StreamableFile) when the client
 * goes away, on routes with interceptors — no Atrium handler returns an Observable.
 *
 * When every interceptor of the route is a PromiseInterceptor, the chain is a chain of promises: no
 * rxjs at all (about twenty subscribers and operators per request otherwise). The async context needs
 * no binding there: each step calls the next inside its own call, so the next runs in its context.
 *
 * Process-wide (a prototype method) and idempotent; left as Nest ships it (returns false) when Nest's
 * method no longer has the shape this was written against (nestjs/core 11.x).
 */
export function installInterceptorScope(): boolean {
  const proto = InterceptorsConsumer.prototype as InterceptorsConsumer & { [kInstalled]?: true };
  if (proto[kInstalled]) return true;
  const source = Function.prototype.toString.call(proto.intercept);
  if (!source.includes('AsyncResource.bind') || typeof proto.transformDeferred !== 'function') return false;

  const intercept = async function (
    this: InterceptorsConsumer,
    interceptors: NestInterceptor[],
    args: unknown[],
    instance: object,
    callback: (...args: unknown[]) => unknown,
    next: () => Promise<unknown>,
    type?: ContextType,
  ): Promise<unknown> {
    if (isEmpty(interceptors)) return next();
    const context = this.createContext(args, instance, callback);
    context.setType(type as ContextType);
    const sse = Reflect.getMetadata(SSE_METADATA, callback) as unknown;
    if (!sse && interceptors.every(isPromiseInterceptor)) {
      const promised = interceptors;
      const step = (i: number): Promise<unknown> =>
        i < promised.length
          ? promised[i].interceptAsync(context, () => step(i + 1))
          : Promise.resolve(next()).then((value) => (isObservable(value) ? lastValueFrom(value) : value));
      return step(0);
    }
    const nextFn = async (i = 0): Promise<ObservableInput<unknown>> => {
      if (i >= interceptors.length) return defer(scoped(() => this.transformDeferred(next)));
      const handler: CallHandler = {
        handle: () => defer(scoped(() => nextFn(i + 1))).pipe(mergeAll()),
      };
      return interceptors[i].intercept(context, handler) as ObservableInput<unknown>;
    };
    const chain = defer(() => nextFn()).pipe(mergeAll());
    return sse ? chain : lastValueFrom(chain);
  };
  proto.intercept = intercept as unknown as Intercept;
  proto[kInstalled] = true;
  return true;
}
