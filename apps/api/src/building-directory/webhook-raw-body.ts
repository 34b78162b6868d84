import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Transform } from 'node:stream';

export const WEBHOOK_ROUTE = '/api/v1/webhooks/building-directory';
const kRawBody = Symbol('atrium.buildingWebhook.rawBody');
type WithRawBody = FastifyRequest & { [kRawBody]?: Buffer };

export function rawBodyOf(request: FastifyRequest): Buffer | undefined {
  return (request as WithRawBody)[kRawBody];
}

/**
 * The webhook signature covers the exact bytes sent, so the handler needs the raw body, not a
 * re-serialisation of the parsed JSON. Rather than `rawBody: true` for the whole app (every request
 * would keep a second copy of its body), a preParsing hook tees the payload of THIS route only: the
 * bytes still flow to Fastify's JSON parser (body limit and MALFORMED_JSON unchanged) and a copy is
 * kept on the request. Other routes pay one string comparison.
 */
@Injectable()
export class WebhookRawBodyCapture implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify?.addHook) return;
    fastify.addHook('preParsing', (request, _reply, payload, done) => {
      if (request.routeOptions.url !== WEBHOOK_ROUTE) return done(null, payload);
      const chunks: Buffer[] = [];
      const tee = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb(null, chunk);
        },
        flush(cb) {
          (request as WithRawBody)[kRawBody] = Buffer.concat(chunks);
          cb();
        },
      });
      payload.on('error', (err) => tee.destroy(err));
      done(null, payload.pipe(tee));
    });
  }
}
