import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { ThrottlerRequest } from '@nestjs/throttler/dist/throttler.guard.interface';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '@app/config';
import { IS_PUBLIC, principalOf } from '@app/auth/auth.decorators';
import { RATE_LIMIT_GROUP, RateLimitGroup } from './rate-limit.decorator';

/**
 * @nestjs/throttler with Atrium's rules: one counter per (route group, caller) where the caller is the
 * API key fingerprint (or client IP with auth off) resolved by AuthGuard; limits come from config per
 * group; probes, scrapes and signed webhooks (@Public) are never limited.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private config!: AppConfig;

  setConfig(config: AppConfig): void {
    this.config = config;
  }

  private group(context: ExecutionContext): RateLimitGroup {
    return (
      this.reflector.getAllAndOverride<RateLimitGroup | undefined>(RATE_LIMIT_GROUP, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'default'
    );
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return (
      context.getType() !== 'http' ||
      this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) ===
        true
    );
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const group = this.group(props.context);
    const request = props.context.switchToHttp().getRequest<FastifyRequest>();
    const tracker = principalOf(request)?.clientId ?? `ip:${request.ip}`;
    return super.handleRequest({
      ...props,
      limit: this.config.rateLimit[group],
      ttl: this.config.rateLimit.windowMs,
      blockDuration: this.config.rateLimit.windowMs,
      getTracker: () => tracker,
      generateKey: () => `${group}:${tracker}`,
    });
  }
}
