import { getMetadataStorage, ValidationError } from 'class-validator';

/** Thrown by buildConfig: `problems` holds one line per bad variable. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Variables whose values are never printed, not even when rejected. */
export const isSecretVariable = (name: string): boolean => /TOKEN|SECRET|KEYS|API_KEY|PASSWORD/.test(name);

/** How a rejected value is shown: quoted, secrets hidden, a URL's password masked, long values cut. */
export function shownValue(name: string, raw: string | undefined): string {
  if (raw === undefined) return 'nothing';
  if (isSecretVariable(name)) return `(hidden, ${raw.length} characters)`;
  const masked = raw.replace(/(\/\/[^/@:\s]*):[^/@\s]*@/, '$1:***@');
  return JSON.stringify(masked.length > 120 ? `${masked.slice(0, 117)}...` : masked);
}

interface Rule {
  name: string;
  constraints: unknown[];
  message?: unknown;
  type: string;
}

const list = (values: unknown): string => (values as unknown[]).map((v) => String(v)).join(', ');

/**
 * What a variable accepts, in words, from the schema's own decorators (so it never disagrees with the
 * check): "an integer from 0 to 65535", "one of json, pretty", "true or false", …
 */
export function allowedValues(target: new () => object, property: string): string {
  const rules = (
    getMetadataStorage().getTargetValidationMetadatas(target, '', true, false) as unknown as Array<
      Rule & { propertyName: string }
    >
  ).filter((m) => m.propertyName === property);
  const by = (name: string): Rule | undefined => rules.find((r) => r.name === name);
  const optional = rules.some((r) => r.type === 'conditionalValidation');
  const parts: string[] = [];

  const isIn = by('isIn');
  const matches = by('matches');
  const isInt = by('isInt');
  const min = by('min')?.constraints[0] as number | undefined;
  const max = by('max')?.constraints[0] as number | undefined;
  if (by('isBoolean')) parts.push('true or false (also 1/0, yes/no, on/off)');
  else if (isIn) parts.push(`one of ${list(isIn.constraints[0])}`);
  else if (isInt || by('isNumber')) {
    const kind = isInt ? 'an integer' : 'a number';
    if (min !== undefined && max !== undefined) parts.push(`${kind} from ${min} to ${max}`);
    else if (min !== undefined) parts.push(`${kind} ≥ ${min}`);
    else if (max !== undefined) parts.push(`${kind} ≤ ${max}`);
    else parts.push(kind);
  } else if (matches) {
    // a custom message reads "<NAME> must be <what>": keep <what>
    const custom = typeof matches.message === 'string' ? matches.message : undefined;
    const what = custom?.replace(new RegExp(`^${property} must be `), '');
    parts.push(what && what !== custom ? what : `a value matching ${String(matches.constraints[0])}`);
  } else if (by('isUrl')) parts.push('an http:// or https:// URL');
  else {
    const minLength = by('minLength')?.constraints[0] as number | undefined;
    if (minLength === undefined) parts.push('a string');
    else parts.push(minLength <= 1 ? 'a non-empty string' : `at least ${minLength} characters`);
  }
  if (optional) parts.push('(or unset/empty)');
  return parts.join(' ');
}

/**
 * One line per rejected variable: `PORT: got "abc"; allowed: an integer from 0 to 65535` — the value as
 * given in the environment (never the coerced NaN), secrets hidden.
 */
export function describeSchemaErrors(
  target: new () => object,
  errors: ValidationError[],
  raw: Record<string, string | undefined>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const err of errors)
    out.set(
      err.property,
      `got ${shownValue(err.property, raw[err.property])}; allowed: ${allowedValues(target, err.property)}`,
    );
  return out;
}

/** Merges the schema's lines with the cross-field checks into one line per variable. */
export function problemLines(
  schema: Map<string, string>,
  extra: Array<[variable: string, problem: string]>,
): string[] {
  const lines = new Map<string, string[]>();
  for (const [name, text] of schema) lines.set(name, [text]);
  for (const [name, text] of extra) lines.set(name, [...(lines.get(name) ?? []), text]);
  return [...lines].map(([name, texts]) => `${name}: ${texts.join('; ')}`);
}
