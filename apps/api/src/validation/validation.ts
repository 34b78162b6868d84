import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from '@app/errors';

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

const plural = (n: string, one: string, many: string): string => `${n} ${n === '1' ? one : many}`;

/**
 * class-validator's default messages, as sentences a person reads ("must contain at least 1 elements" →
 * "must contain at least 1 entry"). Messages a DTO wrote itself do not match these and are kept as written.
 */
const SENTENCES: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [
    /^(.+) must contain at least (\d+) elements$/,
    (m) => `${m[1]} must contain at least ${plural(m[2], 'entry', 'entries')}`,
  ],
  [
    /^(.+) must contain no more than (\d+) elements$/,
    (m) => `${m[1]} must contain at most ${plural(m[2], 'entry', 'entries')}`,
  ],
  [
    /^(.+) must be longer than or equal to (\d+) characters$/,
    (m) => (m[2] === '1' ? `${m[1]} must not be empty` : `${m[1]} must be at least ${m[2]} characters long`),
  ],
  [
    /^(.+) must be shorter than or equal to (\d+) characters$/,
    (m) => `${m[1]} must be at most ${plural(m[2], 'character', 'characters')} long`,
  ],
  [/^(.+) must not be less than (\S+)$/, (m) => `${m[1]} must be at least ${m[2]}`],
  [/^(.+) must not be greater than (\S+)$/, (m) => `${m[1]} must be at most ${m[2]}`],
  [/^(.+) must be an integer number$/, (m) => `${m[1]} must be a whole number`],
  [/^(.+) must be a number conforming to the specified constraints$/, (m) => `${m[1]} must be a number`],
  [/^(.+) must be one of the following values: (.*)$/, (m) => `${m[1]} must be one of: ${m[2]}`],
  [/^(.+) must be a boolean value$/, (m) => `${m[1]} must be true or false`],
  [/^(.+) must be a URL address$/, (m) => `${m[1]} must be a URL`],
  [/^(.+) should not be empty$/, (m) => `${m[1]} must not be empty`],
  [/^nested property (.+) must be either object or array$/, (m) => `${m[1]} must be an object`],
  [
    /^each value in (.+?) must (.*)$/,
    (m) => `every entry of ${m[1]} must ${sentence(`x must ${m[2]}`).slice(7)}`,
  ],
];

/** A class-validator message as a sentence (see SENTENCES). */
export function sentence(message: string): string {
  for (const [pattern, rewrite] of SENTENCES) {
    const m = pattern.exec(message);
    if (m) return rewrite(m);
  }
  return message;
}

/**
 * A parameter or field the route does not take. When the request also gave a `url` with a query string of its
 * own, the stray parameter most likely came from it — `?url=http://a/?x=1&y=2` makes `y` a parameter of
 * Atrium's URL — so the message says to URL-encode `url`.
 */
function unknownField(path: string, target: unknown): string {
  const url = (target as { url?: unknown } | undefined)?.url;
  if (!path.includes('.') && typeof url === 'string' && url.includes('?'))
    return (
      `${path} is not a parameter of this route: if it belongs to the query string of url, URL-encode url ` +
      `(e.g. encodeURIComponent, or curl -G --data-urlencode 'url=…'), so that its "&" and "=" stay in it`
    );
  return `${path} is not a field this route takes`;
}

/** The one message for a field: "<field> is required" when it is missing, else the most basic rule it breaks. */
function oneMessage(e: ValidationError, path: string): string {
  const rules = Object.keys(e.constraints ?? {});
  if ((e.value === undefined || e.value === null) && !rules.includes('whitelistValidation'))
    return `${path} is required`;
  const rule = [...rules].sort((a, b) => rank(a) - rank(b))[0];
  if (rule === 'whitelistValidation') return unknownField(path, e.target);
  return sentence(e.constraints![rule]);
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
    // the object a field was found in, so a stray parameter can be told apart from an unencoded url's (never shown)
    validationError: { target: true },
    exceptionFactory: (errors) => new ValidationFailedError(validationDetails(errors)),
  });
}
