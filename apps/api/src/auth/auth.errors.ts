import { AppError } from '@app/errors';

export class UnauthenticatedError extends AppError {
  constructor(message = 'A valid API key is required (Authorization: Bearer <key> or X-API-Key)') {
    super(401, 'UNAUTHENTICATED', message, undefined, { 'WWW-Authenticate': 'Bearer' });
  }
}
export class TenantRequiredError extends AppError {
  constructor() {
    super(400, 'TENANT_REQUIRED', 'This key serves every tenant: name one with X-Tenant-ID');
  }
}
export class TenantInvalidError extends AppError {
  constructor() {
    super(400, 'TENANT_INVALID', 'X-Tenant-ID must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$');
  }
}
export class TenantForbiddenError extends AppError {
  constructor() {
    super(403, 'TENANT_FORBIDDEN', 'This API key is not allowed to act for that tenant');
  }
}
export class AuthThrottledError extends AppError {
  constructor(retryAfterSeconds: number) {
    super(
      429,
      'RATE_LIMITED',
      'Too many failed authentication attempts from this address: retry later with a valid API key',
      { retryAfterSeconds },
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
}
