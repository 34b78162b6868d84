import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from './app-error';

/** Flattens nested class-validator errors into `{ "field.path": ["message", …] }`. */
export function validationDetails(errors: ValidationError[], prefix = ''): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) out[path] = Object.values(e.constraints);
    if (e.children?.length) Object.assign(out, validationDetails(e.children, path));
  }
  return out;
}

export class ValidationFailedError extends AppError {
  constructor(fields: Record<string, string[]>) {
    super(400, 'VALIDATION_FAILED', `Invalid request: ${Object.keys(fields).join(', ')}`, { fields });
  }
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => new ValidationFailedError(validationDetails(errors)),
  });
}
