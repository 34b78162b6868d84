import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { installRequestContext, redactUrl, requestContextOf } from '@libs/observability';
import { kErrorCode, RequestWithErrorCode, sendError } from './common/all-exceptions.filter';
import { HttpMetricsService, UNMATCHED_ROUTE } from './metrics/http-metrics.service';

const kStart = Symbol('atrium.start');
type Timed = FastifyRequest & { [kStart]?: bigint };

/**
 * The per-request edge, as Fastify hooks (cheaper than Nest middleware): request context and id, the
 * HTTP metrics and the access log line, both taken when the response has finished so the status is
 * the one sent. Fastify's own errors (bad JSON, too large, unknown route) get the contract's body.
 */
export function installHttpPipeline(
  fastify: FastifyInstance,
  metrics: HttpMetricsService,
  logger: Logger,
  opts: { accessLog: boolean },
): void {
  installRequestContext(fastify);
  fastify.addHook('onRequest', (request, _reply, done) => {
    (request as Timed)[kStart] = process.hrtime.bigint();
    metrics.started();
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const start = (request as Timed)[kStart];
    const durationMs = start === undefined ? 0 : Number(process.hrtime.bigint() - start) / 1e6;
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const status = reply.statusCode;
    const errorCode = (request as RequestWithErrorCode)[kErrorCode];
    metrics.finished(request.method, route, status, durationMs, errorCode);
    if (opts.accessLog) {
      const ctx = requestContextOf(request);
      const line = {
        requestId: ctx?.requestId,
        tenantId: ctx?.tenantId,
        method: request.method,
        route,
        url: redactUrl(request.url),
        status,
        duration: Math.round(durationMs * 100) / 100,
        errorCode,
      };
      if (status >= 500) logger.error(line, 'request completed');
      else logger.info(line, 'request completed');
    }
    done();
  });
}

/**
 * Errors raised by Fastify itself (body parsing, limits) must keep their codes: Nest's error handler
 * would turn them into a bare HttpException and lose them. This adapter answers those directly with the
 * contract's body and hands everything else to Nest's handler (and so to the global filter).
 */
export class AtriumFastifyAdapter extends FastifyAdapter {
  override setErrorHandler(
    handler: Parameters<FastifyAdapter['setErrorHandler']>[0],
  ): ReturnType<FastifyAdapter['setErrorHandler']> {
    return super.setErrorHandler(function (
      this: FastifyInstance,
      err: unknown,
      req: FastifyRequest,
      reply: FastifyReply,
    ) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('FST_')) return sendError(req, reply, err);
      return handler.call(this, err, req, reply) as unknown;
    });
  }
}
