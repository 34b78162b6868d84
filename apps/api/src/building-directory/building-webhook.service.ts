import { Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { FastifyRequest } from 'fastify';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { setContextTenant } from '@libs/observability';
import { ValidationFailedError, validationDetails } from '@app/validation';
import { AppConfig } from '@app/config';
import { SignatureInvalidError, WebhookNotConfiguredError } from './building-directory.errors';
import { BuildingDirectoryService } from './building-directory.service';
import { BuildingWebhookDto } from './dto/building-webhook.dto';
import { rawBodyOf } from './webhook-raw-body';

/** `sha256=<64 hex>` */
const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/i;

export function signBody(secret: string, raw: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

/** Verifies `X-Signature` over the raw body in constant time. */
export function verifySignature(secret: string, raw: Buffer, header: unknown): boolean {
  if (typeof header !== 'string') return false;
  const match = SIGNATURE_PATTERN.exec(header.trim());
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  const given = Buffer.from(match[1], 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

@Injectable()
export class BuildingWebhookService {
  private readonly logger = new Logger(BuildingWebhookService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly buildings: BuildingDirectoryService,
  ) {}

  async receive(request: FastifyRequest): Promise<{ invalidated: number }> {
    const secret = this.config.buildingDirectory.webhookSecret;
    if (!secret) throw new WebhookNotConfiguredError();
    const raw = rawBodyOf(request) ?? Buffer.alloc(0);
    if (!verifySignature(secret, raw, request.headers['x-signature'])) {
      this.logger.warn('Building directory webhook refused: missing or invalid signature');
      throw new SignatureInvalidError();
    }
    const body = plainToInstance(BuildingWebhookDto, request.body ?? {});
    const errors = await validate(body, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length || typeof request.body !== 'object')
      throw new ValidationFailedError(validationDetails(errors));
    setContextTenant(body.tenantId);
    const invalidated = await this.buildings.invalidate(body.tenantId, body.buildingIds);
    this.logger.log(`Change feed ${body.event}: invalidated ${invalidated} building(s)`);
    return { invalidated };
  }
}
