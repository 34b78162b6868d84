import { Controller, Get, Header, Logger, Req, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { Public } from '@app/auth/auth.decorators';
import { AppConfig } from '@app/config';
import { HealthVisibility } from './health-visibility';
import { HealthRegistry } from './health.registry';
import { ShutdownState } from './shutdown.state';

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');
  /** Last status of each check, to log its details when it changes (callers without a key never see them). */
  private readonly lastUp = new Map<string, boolean>();

  constructor(
    private readonly terminus: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly registry: HealthRegistry,
    private readonly shutdown: ShutdownState,
    private readonly config: AppConfig,
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
    const result = await this.respond(
      reply,
      this.registry.all().filter((c) => c.readiness),
    );
    return this.visibility.view(request, result);
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
    return this.visibility.view(request, await this.respond(reply, this.registry.all()));
  }

  /** Terminus throws a 503 carrying its result; answer with that result as the body (what probes and people read). */
  private async respond(
    reply: FastifyReply,
    checks: ReturnType<HealthRegistry['all']>,
  ): Promise<HealthCheckResult> {
    try {
      return await this.terminus.check(checks.map((c) => () => this.run(c.name, c.check)));
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      void reply.status(503);
      return err.getResponse() as HealthCheckResult;
    }
  }

  private async run(
    name: string,
    check: () => Promise<Record<string, unknown> | void>,
  ): Promise<HealthIndicatorResult> {
    const session = this.indicator.check(name);
    const started = Date.now();
    try {
      const details = (await withTimeout(check(), this.config.health.timeoutMs)) ?? {};
      this.changed(name, true, details);
      return session.up({ ...details, latencyMs: Date.now() - started });
    } catch (err) {
      const down = {
        message: err instanceof Error ? err.message : String(err),
        latencyMs: Date.now() - started,
      };
      this.changed(name, false, down);
      return session.down(down);
    }
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
