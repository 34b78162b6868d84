import { Controller, Get, Header, Logger, Req, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorResult } from '@nestjs/terminus';
import { Public } from '@app/auth';
import { setFault } from '@app/errors';
import type { FeatureHealthIndicator } from './health-indicator';
import { HealthIndicators } from './health-indicators.service';
import { HealthVisibility } from './health-visibility';
import { ShutdownState } from './shutdown.state';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');
  /** Last status of each check, to log its details when it changes (callers without a key never see them). */
  private readonly lastUp = new Map<string, boolean>();

  constructor(
    private readonly terminus: HealthCheckService,
    private readonly indicators: HealthIndicators,
    private readonly shutdown: ShutdownState,
    private readonly visibility: HealthVisibility,
  ) {}

  /** Liveness: the event loop turns. Deliberately not Terminus (it answers 503 to everything once shutdown begins). */
  @Get('live')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @HealthCheck()
  @ApiServiceUnavailableResponse({
    description: 'A hard dependency does not answer, or the process is shutting down',
  })
  async ready(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult> {
    if (this.shutdown.shuttingDown) {
      const down = { shutdown: { status: 'down' as const, message: 'shutting down' } };
      void reply.status(503);
      return this.visibility.view(request, { status: 'error', info: {}, error: down, details: down });
    }
    return this.visibility.view(request, await this.respond(request, reply, this.indicators.readiness()));
  }

  @Get()
  @Header('Cache-Control', 'no-store')
  @HealthCheck()
  @ApiOkResponse({
    description:
      'Each check with its details given a valid API key (or with auth off); statuses only otherwise',
  })
  async all(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult> {
    return this.visibility.view(request, await this.respond(request, reply, this.indicators.all()));
  }

  /** Terminus throws a 503 carrying its result; answer with that result as the body (what probes and people read). */
  private async respond(
    request: FastifyRequest,
    reply: FastifyReply,
    indicators: FeatureHealthIndicator[],
  ): Promise<HealthCheckResult> {
    try {
      return await this.terminus.check(indicators.map((i) => () => this.run(i)));
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      void reply.status(503);
      // a 503 health report says a check is down (a store it needs, or the process's own limits)
      setFault(request, 'dependency');
      return err.getResponse() as HealthCheckResult;
    }
  }

  private async run(indicator: FeatureHealthIndicator): Promise<HealthIndicatorResult> {
    const result = await indicator.isHealthy();
    const { status, ...details } = result[indicator.key];
    this.changed(indicator.key, status === 'up', details);
    return result;
  }

  /** Logs a check's details when its status changes (and when it is first seen down). */
  private changed(name: string, up: boolean, details: Record<string, unknown>): void {
    const before = this.lastUp.get(name);
    this.lastUp.set(name, up);
    if (before === up || (before === undefined && up)) return;
    if (up) this.logger.log({ check: name, details }, `Health check ${name} is up again`);
    else this.logger.warn({ check: name, details }, `Health check ${name} is down`);
  }
}
