import { AppError } from '@app/common/app-error';

export class BuildingNotFoundError extends AppError {
  constructor(buildingId: string) {
    super(404, 'BUILDING_NOT_FOUND', `Building ${buildingId} not found`, { buildingId });
  }
}

export class BuildingInactiveError extends AppError {
  constructor(buildingId: string) {
    super(422, 'BUILDING_INACTIVE', `Building ${buildingId} is inactive`, { buildingId });
  }
}

/** The directory failed (network error, 5xx, unexpected status, unusable body). Never carries its body. */
export class UpstreamError extends AppError {
  constructor(
    message: string,
    readonly errorType: 'http_error' | 'parse_error' | 'unknown',
    upstreamStatus?: number,
  ) {
    super(502, 'UPSTREAM_ERROR', message, upstreamStatus ? { upstreamStatus } : undefined);
  }
}

export class UpstreamTimeoutError extends AppError {
  readonly errorType = 'timeout' as const;
  constructor(message = 'The building directory did not answer in time') {
    super(504, 'UPSTREAM_TIMEOUT', message);
  }
}

export class SignatureInvalidError extends AppError {
  constructor() {
    super(401, 'SIGNATURE_INVALID', 'Missing or invalid X-Signature', undefined, {
      'WWW-Authenticate': 'Signature header="X-Signature", algorithm="hmac-sha256"',
    });
  }
}

/** Without BUILDING_DIRECTORY_WEBHOOK_SECRET the change feed is refused: an unsigned feed could wipe caches. */
export class WebhookNotConfiguredError extends AppError {
  constructor() {
    super(503, 'WEBHOOK_NOT_CONFIGURED', 'The building directory webhook is disabled (no secret configured)');
  }
}
