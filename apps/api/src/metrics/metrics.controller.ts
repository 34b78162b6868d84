import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import { Registry } from 'prom-client';
import { Public } from '@app/auth';
import { MetricsViewsService } from './metrics-views.service';

/** GET /metrics — the Prometheus exposition of this instance's registry. */
@ApiExcludeController()
@Public()
@Controller()
export class PrometheusMetricsController extends PrometheusController {
  constructor(private readonly registry: Registry) {
    super();
  }

  @Get()
  override async index(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('Content-Type', this.registry.contentType);
    void reply.header('Cache-Control', 'no-store');
    return this.registry.metrics();
  }
}

@ApiTags('metrics')
@Public()
@Controller('metrics')
export class MetricsViewsController {
  constructor(private readonly views: MetricsViewsService) {}

  @Get('performance')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({
    description: 'Per-route request count, error rate and latency quantiles over the sliding window',
  })
  performance(): unknown {
    return this.views.performance();
  }

  @Get('health-score')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ description: 'Health score 0–100 from error rate and latency over the sliding window' })
  healthScore(): unknown {
    return this.views.healthScore();
  }

  @Get('cache')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ description: 'Hits, misses, hit rate and size per cache level and key type' })
  cache(): unknown {
    return this.views.cache();
  }

  @Get('live')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({
    description: 'In-flight requests, concurrency pools, cache, connections, event-loop lag, memory',
  })
  live(): Promise<unknown> {
    return this.views.live();
  }
}
