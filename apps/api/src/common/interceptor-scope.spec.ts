import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { SSE_METADATA } from '@nestjs/common/constants';
import { InterceptorsConsumer } from '@nestjs/core/interceptors/interceptors-consumer';
import { lastValueFrom, map, Observable, of } from 'rxjs';
import { installInterceptorScope } from './interceptor-scope';

describe('installInterceptorScope', () => {
  const als = new AsyncLocalStorage<string>();

  /** Nest's consumer (patched once installed) running `interceptors` around `handler`, as the router does. */
  const interceptWith = (
    interceptors: NestInterceptor[],
    handler: () => Promise<unknown>,
  ): Promise<unknown> =>
    new InterceptorsConsumer().intercept(interceptors, [{}, {}], {}, handler, handler, 'http');

  /** Calls next.handle() from a timer (another async context) inside its own context, and tags the result. */
  class Tagging implements NestInterceptor {
    constructor(private readonly tag: string) {}
    intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
      return new Observable((subscriber) => {
        setTimeout(() => {
          als.run(`inside-${this.tag}`, () => {
            next
              .handle()
              .pipe(map((v) => `${String(v)}+${this.tag}`))
              .subscribe(subscriber);
          });
        }, 1);
      });
    }
  }

  const run = async (interceptors: NestInterceptor[]): Promise<{ result: unknown; seen: unknown }> => {
    let seen: unknown;
    const handler = (): Promise<string> => {
      seen = als.getStore();
      return Promise.resolve('value');
    };
    const out = await als.run('request', () => interceptWith(interceptors, handler));
    const result = out instanceof Observable ? await lastValueFrom(out) : out;
    return { result, seen };
  };

  it("replaces Nest's intercept, once", () => {
    const before = InterceptorsConsumer.prototype.intercept;
    expect(installInterceptorScope()).toBe(true);
    const after = InterceptorsConsumer.prototype.intercept;
    expect(after).not.toBe(before);
    expect(installInterceptorScope()).toBe(true);
    expect(InterceptorsConsumer.prototype.intercept).toBe(after);
  });

  it('runs the handler in the context where each step called handle(), through a chain of two', async () => {
    installInterceptorScope();
    const bind = jest.spyOn(AsyncResource, 'bind');
    try {
      const { result, seen } = await run([new Tagging('a'), new Tagging('b')]);
      expect(result).toBe('value+b+a');
      // the innermost handle() was called inside interceptor b's context: the handler sees it
      expect(seen).toBe('inside-b');
      expect(bind).not.toHaveBeenCalled();
    } finally {
      bind.mockRestore();
    }
  });

  it('without interceptors, calls the handler directly', async () => {
    installInterceptorScope();
    const { result, seen } = await run([]);
    expect(result).toBe('value');
    expect(seen).toBe('request');
  });

  it("hands the router the chain's last value, not an Observable (no per-request disconnect watch)", async () => {
    installInterceptorScope();
    const handler = (): Promise<string> => Promise.resolve('value');
    const out = interceptWith([new Tagging('a')], handler);
    expect(out).toBeInstanceOf(Promise);
    expect(await out).toBe('value+a');
  });

  it.each([
    ['the Observable chain', (): NestInterceptor => new Tagging('a')],
    ['the promise chain', (): NestInterceptor => new Both('a')],
  ])('a rejection passes through %s untouched, so the exception filters still see it', async (_, make) => {
    installInterceptorScope();
    const failing = (): Promise<string> => Promise.reject(new Error('boom'));
    await expect(interceptWith([make()], failing)).rejects.toThrow('boom');
  });

  it('still hands a server-sent-events handler its Observable', async () => {
    installInterceptorScope();
    const sse = (): Promise<string> => Promise.resolve('event');
    Reflect.defineMetadata(SSE_METADATA, true, sse);
    const out = await interceptWith([new Tagging('a')], sse);
    expect(out).toBeInstanceOf(Observable);
    expect(await lastValueFrom(out as Observable<unknown>)).toBe('event+a');
  });

  /** A PromiseInterceptor that also has the Observable form; records which one ran and the context it saw. */
  class Both implements NestInterceptor {
    ran: string[] = [];
    constructor(private readonly tag: string) {}
    intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
      this.ran.push('observable');
      return next.handle().pipe(map((v) => `${String(v)}+${this.tag}`));
    }
    async interceptAsync(_context: ExecutionContext, next: () => Promise<unknown>): Promise<unknown> {
      this.ran.push('promise');
      const value = await als.run(`inside-${this.tag}`, next);
      return `${String(value)}+${this.tag}`;
    }
  }

  it('runs a chain of promise interceptors as promises, each step in the context the previous opened', async () => {
    installInterceptorScope();
    const a = new Both('a');
    const b = new Both('b');
    const { result, seen } = await run([a, b]);
    expect(result).toBe('value+b+a');
    expect(seen).toBe('inside-b');
    expect([...a.ran, ...b.ran]).toEqual(['promise', 'promise']);
  });

  it('a handler that returns an Observable still gives its last value through the promise chain', async () => {
    installInterceptorScope();
    const handler = (): Promise<Observable<string>> => Promise.resolve(of('first', 'last'));
    const out = interceptWith([new Both('a')], handler);
    expect(await out).toBe('last+a');
  });

  it('mixing a promise interceptor with one that has only intercept() takes the Observable chain', async () => {
    installInterceptorScope();
    const both = new Both('a');
    const { result } = await run([both, new Tagging('b')]);
    expect(result).toBe('value+b+a');
    expect(both.ran).toEqual(['observable']);
  });
});
