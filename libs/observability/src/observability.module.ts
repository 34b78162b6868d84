import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';

/**
 * nestjs-pino wired to the root logger. Request context (id, tenant) comes from our own async context
 * through the logger's mixin, so pino-http's per-request middleware is not mounted (`forRoutes: []`):
 * the access line is written once per request by the HTTP pipeline hook, together with the metrics.
 */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger, autoLogging: false }, forRoutes: [] })],
      exports: [LoggerModule],
    };
  }
}
