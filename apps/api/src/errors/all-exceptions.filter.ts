import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseTimeoutError, DatabaseUnavailableError } from '@libs/database';
import { currentRequestId, requestContextOf } from '@libs/observability';
import { AppError, Fault, faultOfStatus } from './app-error';
import { errorBody, ErrorBody } from './error-body';

export interface MappedError {
  body: ErrorBody;
  headers: Record<string, string>;
  /** Whose fault the answer is (errors_total{fault}). */
  fault: Fault;
}

const NEST_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/** Fastify's own errors (body parsing, limits) carry a `code` like FST_ERR_CTP_INVALID_JSON_BODY. */
const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'MALFORMED_JSON',
    message: 'Request body is not valid JSON',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'MALFORMED_JSON',
    message: 'Request body is empty but Content-Type is application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: 'Request body is too large',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Unsupported Content-Type',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'BAD_REQUEST',
    message: 'Content-Length does not match the body',
  },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'FILE_TOO_LARGE', message: 'A file is larger than the limit' },
  FST_FILES_LIMIT: { status: 413, code: 'TOO_MANY_FILES', message: 'Too many files in one upload' },
  FST_PARTS_LIMIT: { status: 413, code: 'TOO_MANY_PARTS', message: 'Too many parts in the multipart body' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Expected multipart/form-data',
  },
};

const logger = new Logger('ExceptionFilter');

/**
 * Maps anything thrown to the contract's error body. Known errors keep their status and code;
 * anything unknown is a generic 500 whose stack goes to the log, never to the client.
 */
export function mapError(exception: unknown, requestId: string | undefined): MappedError {
  if (exception instanceof AppError) {
    return {
      body: errorBody(exception.status, exception.code, exception.message, requestId, exception.details),
      headers: exception.headers ?? {},
      fault: exception.fault,
    };
  }
  if (exception instanceof DatabaseTimeoutError || exception instanceof DatabaseUnavailableError) {
    // The database is busy or restarting, not broken: a retryable 503 (the statement, never the SQL,
    // is described). Searches answer SEARCH_TIMEOUT instead (search.service.ts).
    const message =
      exception instanceof DatabaseTimeoutError
        ? 'The database did not answer in time; try again'
        : 'The database is unavailable for a moment; try again';
    logger.warn(`${exception.code}: ${exception.message}`);
    return {
      body: errorBody(503, exception.code, message, requestId),
      headers: { 'Retry-After': '1' },
      fault: 'dependency',
    };
  }
  if (exception instanceof ThrottlerException) {
    return {
      body: errorBody(429, 'RATE_LIMITED', 'Too many requests, slow down', requestId),
      headers: {},
      fault: 'client',
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    let message = exception.message;
    let code = NEST_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
    let details: Record<string, unknown> | undefined;
    if (typeof response === 'object' && response !== null) {
      const r = response as Record<string, unknown>;
      if (typeof r.code === 'string') code = r.code;
      if (typeof r.message === 'string') message = r.message;
      if (r.details && typeof r.details === 'object') details = r.details as Record<string, unknown>;
    }
    if (status >= 500) logger.error({ err: exception }, 'HTTP exception with server status');
    return {
      body: errorBody(status, code, status >= 500 ? 'Internal server error' : message, requestId, details),
      headers: {},
      fault: faultOfStatus(status),
    };
  }
  const fastifyCode = (exception as { code?: unknown })?.code;
  if (typeof fastifyCode === 'string' && FASTIFY_CODES[fastifyCode]) {
    const known = FASTIFY_CODES[fastifyCode];
    return {
      body: errorBody(known.status, known.code, known.message, requestId),
      headers: {},
      fault: 'client',
    };
  }
  const statusCode = (exception as { statusCode?: unknown })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    // Other framework errors with a client status (e.g. an unsupported Content-Type).
    return {
      body: errorBody(
        statusCode,
        NEST_CODES[statusCode] ?? 'BAD_REQUEST',
        (exception as Error).message ?? 'Bad request',
        requestId,
      ),
      headers: {},
      fault: 'client',
    };
  }
  logger.error({ err: exception }, 'Unhandled error');
  return {
    body: errorBody(500, 'INTERNAL_ERROR', 'Internal server error', requestId),
    headers: {},
    fault: 'atrium',
  };
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The methods Fastify has a route for at this path (Fastify's documented findRoute), for 405's Allow. */
function methodsOf(request: FastifyRequest, path: string): string[] {
  try {
    return METHODS.filter((method) => request.server.findRoute({ method, url: path }) !== null);
  } catch {
    return []; // a path the router cannot parse is no known path
  }
}

/** Remembers the error code on the request so the access log and errors_total can name it. */
export const kErrorCode = Symbol('atrium.errorCode');
/** …and whose fault the answer is (errors_total{fault}); unset, it follows from the status and code. */
export const kFault = Symbol('atrium.fault');
export type RequestWithErrorCode = FastifyRequest & { [kErrorCode]?: string; [kFault]?: Fault };

/** For an answer sent without throwing (e.g. a 503 health report): whose fault it is. */
export function setFault(request: FastifyRequest, fault: Fault): void {
  (request as RequestWithErrorCode)[kFault] = fault;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, exception: unknown): void {
  const requestId = requestContextOf(request)?.requestId ?? currentRequestId();
  const { body, headers, fault } = mapError(exception, requestId);
  if (body.statusCode === 404 && request.routeOptions.url === undefined) {
    const path = request.url.split('?')[0];
    const allowed = methodsOf(request, path);
    if (allowed.length) {
      // a known path asked with the wrong method: 405 with Allow, not "no such route"
      body.statusCode = 405;
      body.error = 'Method Not Allowed';
      body.code = 'METHOD_NOT_ALLOWED';
      body.message = `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`;
      body.details = { allowed };
      headers.Allow = allowed.join(', ');
    } else {
      body.code = 'ROUTE_NOT_FOUND';
      body.message = `No route ${request.method} ${path}`;
    }
  }
  const bodyLimit = request.routeOptions.bodyLimit;
  if (body.code === 'PAYLOAD_TOO_LARGE' && typeof bodyLimit === 'number') {
    // name the limit the client ran into (BODY_LIMIT_BYTES, or the route's own)
    body.message = `Request body is larger than the limit of ${bodyLimit} bytes`;
    body.details = { ...body.details, limit: bodyLimit };
  }
  (request as RequestWithErrorCode)[kErrorCode] = body.code;
  (request as RequestWithErrorCode)[kFault] = fault;
  if (body.statusCode === 401 && !headers['WWW-Authenticate']) headers['WWW-Authenticate'] = 'Bearer';
  void reply.status(body.statusCode).headers(headers).type('application/json; charset=utf-8').send(body);
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    if (reply.sent) return;
    sendError(ctx.getRequest<FastifyRequest>(), reply, exception);
  }
}
