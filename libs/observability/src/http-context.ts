import { AsyncResource } from 'node:async_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RequestContext, runWithContext } from './request-context';
import { REQUEST_ID_HEADER, resolveRequestId } from './request-id';

const kResource = Symbol('atrium.contextResource');
const kContext = Symbol('atrium.context');

type WithContext = FastifyRequest & { [kResource]?: AsyncResource; [kContext]?: RequestContext };

export function requestContextOf(request: FastifyRequest): RequestContext | undefined {
  return (request as WithContext)[kContext];
}

/**
 * Opens an async context per request (id accepted or generated, echoed as X-Request-ID) that lasts
 * until the handler is done. The preValidation re-entry is needed because Fastify runs the later hooks
 * and the handler from the request stream's 'end' event, outside the onRequest continuation
 * (the approach of @fastify/request-context).
 */
export function installRequestContext(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const context: RequestContext = {
      requestId: resolveRequestId(request.headers[REQUEST_ID_HEADER]),
      kind: 'http',
    };
    (request as WithContext)[kContext] = context;
    void reply.header('X-Request-ID', context.requestId);
    runWithContext(context, () => {
      (request as WithContext)[kResource] = new AsyncResource('atrium.request');
      done();
    });
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    const resource = (request as WithContext)[kResource];
    if (resource) resource.runInAsyncScope(done, request.raw);
    else done();
  });
}
