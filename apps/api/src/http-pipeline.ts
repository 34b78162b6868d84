import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { createAccessLog, installRequestContext, redactUrl, requestContextOf } from '@libs/observability';
import { kErrorCode, kFault, RequestWithErrorCode, sendError } from './errors/all-exceptions.filter';
import { faultOf } from './errors/app-error';
import { fetchesCallerUrl } from './metrics/caller-origin';
import { installJsonBodyParser } from './validation/json-body';
import {
  createClientErrorHandler,
  HttpLimits,
  installBodyProgressTimeout,
  installUrlLengthLimit,
} from './http-server/http-limits';
import { installUnusedConnectionClose } from './http-server/unused-connections';
import { installNulGuard } from './validation/nul-guard';
import { installMediaTypeCheck } from './validation/media-type';
import { ShutdownState } from './health/shutdown.state';
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
  opts: { accessLog: boolean; shutdown: ShutdownState; limits: HttpLimits },
): void {
  installRequestContext(fastify);
  // a connection a client opened and sent nothing on does not hold the server's close (Node waits for it)
  installUnusedConnectionClose(fastify);
  // Once shutdown has begun, every response asks its client to reconnect (elsewhere): keep-alive sockets
  // close as their last in-flight response goes out, so the server can close without waiting for their
  // idle timeout.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (opts.shutdown.shuttingDown) void reply.header('Connection', 'close');
    done(null, payload);
  });
  // The access line is built from safe values only (route template, redactUrl'd URL, ids, status), so
  // it goes through a pino child without the path redaction (createAccessLog). Every other log line
  // still goes through pino with redaction.
  const accessLog = createAccessLog(logger);
  fastify.addHook('onRequest', (request, _reply, done) => {
    (request as Timed)[kStart] = process.hrtime.bigint();
    metrics.started();
    done();
  });
  // after the hook above: a request they refuse is still counted in and out of http_requests_in_flight
  installUrlLengthLimit(fastify, opts.limits);
  // a slow body is answered as Node's parser errors are (the same handler, the same 408)
  const clientErrorHandler = createClientErrorHandler(opts.limits, logger);
  installBodyProgressTimeout(fastify, opts.limits, (err, socket) =>
    clientErrorHandler(err as unknown as Parameters<typeof clientErrorHandler>[0], socket),
  );
  installNulGuard(fastify);
  installMediaTypeCheck(fastify);
  fastify.addHook('onResponse', (request, reply, done) => {
    const start = (request as Timed)[kStart];
    const durationMs = start === undefined ? 0 : Number(process.hrtime.bigint() - start) / 1e6;
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const status = reply.statusCode;
    const errorCode = (request as RequestWithErrorCode)[kErrorCode];
    metrics.finished(
      request.method,
      route,
      status,
      durationMs,
      errorCode,
      metrics.enabled
        ? {
            callerOrigin: fetchesCallerUrl(request),
            fault:
              status >= 400
                ? ((request as RequestWithErrorCode)[kFault] ?? faultOf(status, errorCode))
                : undefined,
          }
        : undefined,
    );
    if (opts.accessLog) {
      const ctx = requestContextOf(request);
      accessLog({
        requestId: ctx?.requestId,
        tenantId: ctx?.tenantId,
        method: request.method,
        route,
        url: redactUrl(request.url),
        status,
        duration: Math.round(durationMs * 100) / 100,
        errorCode,
      });
    }
    done();
  });
}

/**
 * Every error that reaches Fastify's error handler — Fastify's own (body parsing, limits, multipart) and
 * anything Nest hands over — is answered by the same mapping as the global filter, so it keeps its code.
 * The handler is installed when the adapter is created, before any route or plugin exists: a route
 * captures the error handler current when Fastify creates it, and a plugin registered (and awaited) by a
 * module during init starts Fastify's queue early. Nest's own handler, which would wrap Fastify's errors
 * in a bare HttpException and lose their codes, is not installed.
 */
export class AtriumFastifyAdapter extends FastifyAdapter {
  constructor(
    options: FastifyServerOptions,
    // controller slices in unit tests construct it bare: the config's default
    private readonly edge: { jsonMaxDepth: number } = { jsonMaxDepth: 32 },
  ) {
    super(options);
    this.getInstance().setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) =>
      sendError(req, reply, err),
    );
  }

  /** Nest registers its JSON parser at init; ours (same parsing, plus the depth and NUL checks) replaces it. */
  override registerParserMiddleware(prefix?: string, rawBody?: boolean): void {
    super.registerParserMiddleware(prefix, rawBody);
    installJsonBodyParser(this.getInstance(), { maxDepth: this.edge.jsonMaxDepth });
  }

  override setErrorHandler(): ReturnType<FastifyAdapter['setErrorHandler']> {
    return this.getInstance();
  }
}
