import { applyDecorators } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiConsumes } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '@app/errors';

const JSON_TYPE = 'application/json';
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

interface MediaTypeConfig {
  consumes?: string;
}

/**
 * The body type a route takes, when it is not JSON (e.g. `multipart/form-data` for uploads): shown in the
 * OpenAPI document, and what a request sent with another Content-Type is told to use.
 */
export const Consumes = (mediaType: string): MethodDecorator =>
  applyDecorators(ApiConsumes(mediaType), RouteConfig({ consumes: mediaType } satisfies MediaTypeConfig));

/** 415: the body's Content-Type is not the one the route takes — named, with what was sent. */
export class UnsupportedMediaTypeError extends AppError {
  constructor(expected: string, received: string | undefined) {
    super(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      expected === JSON_TYPE
        ? `This route takes a JSON body: send it with Content-Type: application/json (${
            received ? `got ${received}` : 'no Content-Type was sent'
          })`
        : `This route takes a ${expected} body (${received ? `got ${received}` : 'no Content-Type was sent'})`,
      { expected, received: received ?? null },
    );
  }
}

/** The media type of a Content-Type header, lower case, without parameters (`text/plain`). */
function mediaTypeOf(header: string | undefined): string | undefined {
  const type = header?.split(';')[0].trim().toLowerCase();
  return type || undefined;
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Every POST/PUT/PATCH with a body must send the Content-Type its route takes — JSON unless the route says
 * otherwise with `@Consumes` — or gets 415 UNSUPPORTED_MEDIA_TYPE naming it, before the body is read. Without
 * this, curl's `-d` (form encoding) was parsed as a form whose one key is the JSON text ("property {…} should not
 * exist"), and a form body that happened to carry the right keys was accepted as if it were JSON.
 */
export function installMediaTypeCheck(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (!BODY_METHODS.has(request.method) || request.routeOptions.url === undefined || !hasBody(request))
      return done();
    const expected = (request.routeOptions.config as MediaTypeConfig | undefined)?.consumes ?? JSON_TYPE;
    const received = mediaTypeOf(request.headers['content-type']);
    done(received === expected ? undefined : new UnsupportedMediaTypeError(expected, received));
  });
}
