import { Controller, Get, Headers, Query, Res, UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CacheInterceptor, CacheNamespace } from '@libs/cache';
import { TenantId } from '@app/auth';
import { API_V1 } from '@app/routes';
import { FetchesCallerUrl } from '@app/metrics';
import { RateLimit } from '@app/rate-limit';
import { DOWNLOAD_CACHE_NAMESPACE } from './download-cache';
import { DownloadService } from './download.service';
import { DownloadQueryDto } from './dto/download-query.dto';
import { negotiateFormat } from './formats';

@ApiTags('downloader')
@Controller(`${API_V1}/download`)
export class DownloadController {
  constructor(private readonly downloads: DownloadService) {}

  @Get()
  @RateLimit('download')
  @FetchesCallerUrl()
  @UseInterceptors(CacheInterceptor)
  @CacheNamespace(DOWNLOAD_CACHE_NAMESPACE)
  @ApiOkResponse({
    description:
      'The content in the requested format, with X-Original-URL, X-Original-Content-Type, X-Content-Length and ' +
      'X-Cache; for an HTML page read as text, markdown, html or json, X-Atrium-Render: rendered (Chromium), ' +
      'static (as served) or unavailable (render=auto wanted Chromium and there is none)',
    headers: {
      'X-Atrium-Render': {
        description:
          'HTML pages read as text, markdown, html or json: rendered (Chromium), static (as served) or ' +
          'unavailable (render=auto found an app shell and no browser: read as served)',
        schema: { type: 'string', enum: ['rendered', 'static', 'unavailable'] },
      },
    },
  })
  async download(
    @TenantId() tenantId: string,
    @Query() query: DownloadQueryDto,
    @Headers('accept') accept: string | undefined,
    // the content's own headers (type, original URL…); X-Cache is the CacheInterceptor's
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const format = query.format ?? negotiateFormat(accept);
    const { url, format: _format, ...read } = query;
    const out = await this.downloads.download(tenantId, url, format, { read });
    void reply.headers({
      'content-type': headerSafe(out.contentType),
      'x-original-url': out.finalUrl,
      'x-original-content-type': headerSafe(out.originalContentType),
      'x-content-length': String(out.contentLength),
      // origin bytes served from our origin: never let a browser run them as our page
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      vary: 'Accept',
    });
    if (out.render) reply.header('x-atrium-render', out.render);
    if (format === 'pdf' || format === 'raw') reply.header('content-disposition', 'inline');
    return out.body;
  }
}

/** Origin-supplied values may hold bytes a response header cannot carry (a 500 otherwise): keep printable ASCII. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '').slice(0, 256) || 'application/octet-stream';
}
