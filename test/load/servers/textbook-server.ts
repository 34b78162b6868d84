import 'reflect-metadata';
import { CacheInterceptor, CacheModule } from '@nestjs/cache-manager';
import {
  CallHandler,
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Injectable,
  Module,
  NestInterceptor,
  NotFoundException,
  Param,
  UnauthorizedException,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SkipThrottle, ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import {
  InjectMetric,
  makeCounterProvider,
  makeHistogramProvider,
  PrometheusModule,
} from '@willsoto/nestjs-prometheus';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Logger as PinoLogger, LoggerModule } from 'nestjs-pino';
import type { Counter, Histogram } from 'prom-client';
import { Observable, tap } from 'rxjs';
import { BUILDING_COUNT, buildingId, makeBuilding } from '../lib/buildings';

/**
 * The textbook build of the cached building lookup (issue 21, item 4): what a team would write with the
 * libraries' own guides, no tuning — GET /api/v1/buildings/:id answering the same JSON as the other servers,
 * behind
 * - an API-key guard (`X-API-Key`, global `APP_GUARD`),
 * - `@nestjs/throttler`'s `ThrottlerGuard` with its in-memory storage (limit far above the load: counted, never refused),
 * - `@nestjs/cache-manager`'s `CacheInterceptor` with its default in-memory store (keyed by URL, TTL 5 min),
 * - nestjs-pino (`pino-http`): one JSON access line per request to stdout (the benchmark sends it to a file),
 * - `@willsoto/nestjs-prometheus`: a counter and a histogram made with `makeCounterProvider`/`makeHistogramProvider`,
 *   injected with `@InjectMetric` into a global interceptor that records every request by method, route and status.
 * Run as its own process by the benchmark; PORT and API_KEY from the environment.
 */
const buildings = new Map<string, object>();
for (let i = 0; i < BUILDING_COUNT; i++) buildings.set(buildingId(i), makeBuilding(i));
const API_KEY = process.env.API_KEY ?? '';

@Injectable()
class ApiKeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    if (req.url.startsWith('/health') || req.url.startsWith('/metrics')) return true;
    if (req.headers['x-api-key'] !== API_KEY) throw new UnauthorizedException();
    return true;
  }
}

@Injectable()
class MetricsInterceptor implements NestInterceptor {
  constructor(
    @InjectMetric('http_requests_total') private readonly requests: Counter<string>,
    @InjectMetric('http_request_duration_seconds') private readonly duration: Histogram<string>,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const end = this.duration.startTimer();
    return next.handle().pipe(
      tap({
        next: () => {
          const labels = {
            method: req.method,
            route: req.routeOptions.url ?? 'unknown',
            status_code: String(http.getResponse<FastifyReply>().statusCode),
          };
          this.requests.inc(labels);
          end(labels);
        },
        error: () => {
          const labels = {
            method: req.method,
            route: req.routeOptions.url ?? 'unknown',
            status_code: 'error',
          };
          this.requests.inc(labels);
          end(labels);
        },
      }),
    );
  }
}

@Controller()
class BuildingsController {
  @Get('api/v1/buildings/:id')
  get(@Param('id') id: string): object {
    const building = buildings.get(id);
    if (building === undefined) throw new NotFoundException({ statusCode: 404, code: 'BUILDING_NOT_FOUND' });
    return building;
  }

  @SkipThrottle()
  @Get('health/ready')
  ready(): { status: string } {
    return { status: 'ok' };
  }
}

@Module({
  imports: [
    LoggerModule.forRoot({ pinoHttp: { level: 'info' } }),
    ThrottlerModule.forRoot([{ ttl: 60_000, limit: 1_000_000_000 }]),
    CacheModule.register({ ttl: 300_000 }),
    PrometheusModule.register({ defaultMetrics: { enabled: false } }),
  ],
  controllers: [BuildingsController],
  providers: [
    makeCounterProvider({
      name: 'http_requests_total',
      help: 'HTTP requests',
      labelNames: ['method', 'route', 'status_code'],
    }),
    makeHistogramProvider({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    }),
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: ThrottlerGuard },
    { provide: APP_INTERCEPTOR, useClass: MetricsInterceptor },
    { provide: APP_INTERCEPTOR, useClass: CacheInterceptor },
  ],
})
class TextbookModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(TextbookModule, new FastifyAdapter(), {
    bufferLogs: true,
  });
  // nestjs-pino's README: `bufferLogs: true`, then `app.useLogger(app.get(Logger))`
  app.useLogger(app.get(PinoLogger));
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
