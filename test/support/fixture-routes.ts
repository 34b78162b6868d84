import { Body, Controller, Get, Module, Post, Query } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min, MinLength } from 'class-validator';
import { TenantId } from '@app/auth/auth.decorators';
import { AppError } from '@app/errors/app-error';

class EchoDto {
  @IsString() @MinLength(3) name!: string;
  @Type(() => Number) @IsInt() @Min(1) @Max(10) count!: number;
}

/**
 * Test-only routes (mounted by foundation e2e tests through createApp's extraModules, never by the app):
 * a tenant-scoped route, a validated body, a slow request and thrown errors.
 */
@Controller('api/v1/fixture')
class FixtureController {
  @Get('whoami')
  whoami(@TenantId() tenantId: string): { tenantId: string } {
    return { tenantId };
  }

  @Post('echo')
  echo(@Body() dto: EchoDto): EchoDto {
    return dto;
  }

  @Get('slow')
  async slow(@Query('ms') ms = '1000'): Promise<{ sleptMs: number }> {
    const n = Math.min(Number(ms) || 0, 10000);
    await new Promise((r) => setTimeout(r, n));
    return { sleptMs: n };
  }

  @Get('boom')
  boom(): never {
    throw new Error('secret internal detail at /srv/atrium/internal.ts:42');
  }

  @Get('domain-error')
  domainError(): never {
    throw new AppError(404, 'THING_NOT_FOUND', 'No such thing', { thingId: 'x1' });
  }
}

@Module({ controllers: [FixtureController] })
export class FixtureRoutesModule {}
