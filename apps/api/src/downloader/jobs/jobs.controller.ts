import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { TenantId } from '@app/auth';
import { API_V1 } from '@app/routes';
import { RateLimit } from '@app/rate-limit';
import { BatchRequestDto } from '../dto/batch.dto';
import { CrawlRequestDto } from '../dto/crawl.dto';
import { JobsService } from './jobs.service';

@ApiTags('downloader')
@Controller(API_V1)
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post('batch')
  @HttpCode(202)
  @RateLimit('batch')
  @ApiAcceptedResponse({ description: '{jobId, status: "queued", totalUrls, statusUrl}' })
  submit(@TenantId() tenantId: string, @Body() body: BatchRequestDto): ReturnType<JobsService['submit']> {
    return this.jobs.submit(tenantId, body);
  }

  @Post('crawl')
  @HttpCode(202)
  @RateLimit('batch')
  @ApiAcceptedResponse({
    description:
      '{jobId, status: "queued", totalUrls, statusUrl}: a crawl job, read and cancelled with the batch job routes',
  })
  crawl(@TenantId() tenantId: string, @Body() body: CrawlRequestDto): ReturnType<JobsService['submitCrawl']> {
    return this.jobs.submitCrawl(tenantId, body);
  }

  @Get('jobs/:jobId')
  @ApiOkResponse({ description: 'Status and progress (0–100, moves per URL)' })
  status(@TenantId() tenantId: string, @Param('jobId') jobId: string): ReturnType<JobsService['status']> {
    return this.jobs.status(tenantId, jobId);
  }

  @Get('jobs/:jobId/results')
  @ApiOkResponse({
    description: 'Summary and per-URL results; 409 JOB_NOT_FINISHED until the job has finished',
  })
  results(@TenantId() tenantId: string, @Param('jobId') jobId: string): ReturnType<JobsService['results']> {
    return this.jobs.results(tenantId, jobId);
  }

  @Delete('jobs/:jobId')
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'Cancels a queued or running job' })
  cancel(@TenantId() tenantId: string, @Param('jobId') jobId: string): ReturnType<JobsService['cancel']> {
    return this.jobs.cancel(tenantId, jobId);
  }
}
