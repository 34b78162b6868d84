import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { SSE_METADATA } from '@nestjs/common/constants';
import { InterceptorsConsumer } from '@nestjs/core/interceptors/interceptors-consumer';
import { lastValueFrom, map, Observable } from 'rxjs';
import { installInterceptorScope } from './interceptor-scope';

describe('installInterceptorScope', () => {
  const als = new AsyncLocalStorage<string>();

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
    const out = await als.run('request', () =>
      new InterceptorsConsumer().intercept(interceptors, [{}, {}], {}, handler, handler, 'http'),
    );
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
    const out = new InterceptorsConsumer().intercept(
      [new Tagging('a')],
      [{}, {}],
      {},
      handler,
      handler,
      'http',
    );
    expect(out).toBeInstanceOf(Promise);
    expect(await out).toBe('value+a');
  });

  it('rejects with what the chain throws, so the exception filters still see it', async () => {
    installInterceptorScope();
    const failing = (): Promise<string> => Promise.reject(new Error('boom'));
    await expect(
      new InterceptorsConsumer().intercept([new Tagging('a')], [{}, {}], {}, failing, failing, 'http'),
    ).rejects.toThrow('boom');
  });

  it('still hands a server-sent-events handler its Observable', async () => {
    installInterceptorScope();
    const sse = (): Promise<string> => Promise.resolve('event');
    Reflect.defineMetadata(SSE_METADATA, true, sse);
    const out = await new InterceptorsConsumer().intercept(
      [new Tagging('a')],
      [{}, {}],
      {},
      sse,
      sse,
      'http',
    );
    expect(out).toBeInstanceOf(Observable);
    expect(await lastValueFrom(out as Observable<unknown>)).toBe('event+a');
  });
});
