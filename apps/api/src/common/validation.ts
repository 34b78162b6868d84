import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from './app-error';

/**
 * When a field breaks several rules, the one worth telling: the field should not be there at all, then
 * its shape (type, enum), then its range — "url must be a string" before "url must be shorter than…".
 */
const RULE_ORDER = [
  'whitelistValidation',
  'isDefined',
  'isArray',
  'isObject',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isIn',
  'isEnum',
  'nestedValidation',
];
const rank = (rule: string): number => {
  const i = RULE_ORDER.indexOf(rule);
  return i < 0 ? RULE_ORDER.length : i;
};

/** The one message for a field: "<field> is required" when it is missing, else the most basic rule it breaks. */
function oneMessage(e: ValidationError, path: string): string {
  const rules = Object.keys(e.constraints ?? {});
  if ((e.value === undefined || e.value === null) && !rules.includes('whitelistValidation'))
    return `${path} is required`;
  const rule = [...rules].sort((a, b) => rank(a) - rank(b))[0];
  return e.constraints![rule];
}

/** Flattens nested class-validator errors into `{ "field.path": ["one message"] }`. */
export function validationDetails(errors: ValidationError[], prefix = ''): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints && Object.keys(e.constraints).length) out[path] = [oneMessage(e, path)];
    if (e.children?.length) Object.assign(out, validationDetails(e.children, path));
  }
  return out;
}

export class ValidationFailedError extends AppError {
  constructor(fields: Record<string, string[]>) {
    super(400, 'VALIDATION_FAILED', `Invalid request: ${Object.values(fields).flat().join('; ')}`, {
      fields,
    });
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
