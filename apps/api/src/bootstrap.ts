import { Logger as NestLogger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { Database } from '@libs/database';
import { createRootLogger } from '@libs/observability';
import { AppModule } from './app.module';
import { createClientErrorHandler, httpServerOptions } from './http-server/http-limits';
import { createValidationPipe } from './validation/validation';
import { AppConfig } from './config';
import { ShutdownState } from './health/shutdown.state';
import { PdfRenderer } from './downloader/pdf/pdf-renderer';
import { AtriumFastifyAdapter, installHttpPipeline } from './http-pipeline';
import { HttpMetricsService } from './metrics/http-metrics.service';
import { createOpenApiDocument } from './openapi';

export interface CreateAppOptions {
  logger?: Logger;
  /** Extra modules (tests add fixtures such as a slow route). */
  extraModules?: Type[];
}

export interface AtriumApp {
  app: NestFastifyApplication;
  config: AppConfig;
  logger: Logger;
  /** Graceful shutdown: readiness 503 at once, drain delay, in-flight requests finish, then close. */
  shutdown(signal: string): Promise<void>;
}

export async function createApp(config: AppConfig, opts: CreateAppOptions = {}): Promise<AtriumApp> {
  const logger =
    opts.logger ??
    createRootLogger({
      level: config.log.level,
      format: config.log.format,
      service: 'atrium',
      version: config.version,
      env: config.env,
    });
  const adapter = new AtriumFastifyAdapter(
    {
      bodyLimit: config.http.bodyLimitBytes,
      // X-Forwarded-For is believed only from TRUST_PROXY's proxies: anyone else could pick its own address
      trustProxy: config.http.trustProxy,
      // close idle keep-alive sockets on shutdown; in-flight requests still finish
      forceCloseConnections: 'idle',
      return503OnClosing: false,
      routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
      // slow senders, oversize headers and URLs: bounded, and refused in the contract's error shape
      ...httpServerOptions(config.http),
      clientErrorHandler: createClientErrorHandler(config.http, logger),
    },
    { jsonMaxDepth: config.http.jsonMaxDepth },
  );
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logger, opts.extraModules),
    adapter,
    {
      bufferLogs: true,
      abortOnError: false,
    },
  );
  app.useLogger(app.get(PinoNestLogger));
  app.useGlobalPipes(createValidationPipe());
  installHttpPipeline(app.getHttpAdapter().getInstance(), app.get(HttpMetricsService), logger, {
    accessLog: config.log.accessLog,
    shutdown: app.get(ShutdownState),
    limits: config.http,
  });

  const document = createOpenApiDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    // the key given to Authorize survives a reload of the page
    swaggerOptions: { persistAuthorization: true },
  });

  await app.init();

  let closing: Promise<void> | undefined;
  const shutdown = (signal: string): Promise<void> => {
    closing ??= (async () => {
      const log = new NestLogger('Shutdown');
      app.get(ShutdownState).begin();
      log.log(`${signal} received: readiness is now 503, draining for ${config.http.shutdownDrainMs} ms`);
      if (config.http.shutdownDrainMs > 0)
        await new Promise((r) => setTimeout(r, config.http.shutdownDrainMs));
      await app.close();
      log.log('Shutdown complete');
    })();
    return closing;
  };

  const db = app.get(Database);
  new NestLogger('Atrium').log(
    `Backends: database=${db.kind} (${db.description}), redis=${config.redis.url ? 'configured' : 'none (L1 cache only, in-process jobs, per-process rate limits)'}, ` +
      `building directory=${config.buildingDirectory.url ?? `file ${config.buildingDirectory.file}`}, auth=${config.auth.open ? 'OPEN' : `${config.auth.keys.length} key(s)`}`,
  );
  logStartupCapabilities(config, logger, app.get(PdfRenderer));
  return { app, config, logger, shutdown };
}

/**
 * What an operator must know at start: retired variables still set and private addresses allowed to the
 * downloader (warnings), and whether PDF rendering works (the binary is looked for, the browser is only
 * launched by the first PDF).
 */
function logStartupCapabilities(config: AppConfig, logger: Logger, pdf: PdfRenderer): void {
  for (const { name, advice } of config.retired)
    logger.warn({ retiredVariable: name }, `${name} is set but no longer read: ${advice}`);
  if (config.downloader.allowPrivate)
    logger.warn(
      { downloadAllowPrivate: true },
      'DOWNLOAD_ALLOW_PRIVATE=true: downloads, batch webhooks and rendered pages may reach private, loopback and ' +
        'link-local addresses (this host, its network, cloud metadata at 169.254.169.254); for local testing only',
    );
  const chromium = pdf.executablePath();
  if (chromium)
    logger.info(
      { pdfRendering: 'available', chromiumPath: chromium },
      `PDF rendering available: Chromium at ${chromium} (started on the first PDF)`,
    );
  else
    logger.info(
      { pdfRendering: 'unavailable', chromiumPath: pdf.expectedPath() },
      `PDF rendering unavailable: no Chromium at ${pdf.expectedPath()} (set CHROMIUM_PATH); format=pdf answers 503 PDF_UNAVAILABLE`,
    );
}
