import { Controller, Get, Header, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
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
  constructor(
    private readonly terminus: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly registry: HealthRegistry,
    private readonly shutdown: ShutdownState,
    private readonly config: AppConfig,
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
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    if (this.shutdown.shuttingDown) {
      const down = { shutdown: { status: 'down' as const, message: 'shutting down' } };
      void reply.status(503);
      return Promise.resolve({ status: 'error', info: {}, error: down, details: down });
    }
    return this.respond(
      reply,
      this.registry.all().filter((c) => c.readiness),
    );
  }

  @Get()
  @Header('Cache-Control', 'no-store')
  @HealthCheck()
  all(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.respond(reply, this.registry.all());
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
      return session.up({ ...details, latencyMs: Date.now() - started });
    } catch (err) {
      return session.down({
        message: err instanceof Error ? err.message : String(err),
        latencyMs: Date.now() - started,
      });
    }
  }
}
