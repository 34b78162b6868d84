import { isTraversal, parse } from 'css-what';
import { registerDecorator, ValidationOptions } from 'class-validator';

/** Longest selector accepted in include, exclude and waitFor. */
export const MAX_SELECTOR_CHARS = 500;

/**
 * A CSS selector list css-what (the parser of css-select, which linkedom queries with) can read: a
 * selector that does not parse is 400 VALIDATION_FAILED naming the field, before any fetch. Length is
 * bounded separately (MaxLength), so the parse is of at most MAX_SELECTOR_CHARS characters.
 */
export function isCssSelector(value: unknown): boolean {
  if (typeof value !== 'string' || !value.trim() || value.length > MAX_SELECTOR_CHARS) return false;
  try {
    const selectors = parse(value);
    // css-what reads relative selectors ("> p", "a >"); querySelector (linkedom, Chromium) does not
    return (
      selectors.length > 0 &&
      selectors.every((s) => s.length > 0 && !isTraversal(s[0]) && !isTraversal(s[s.length - 1]))
    );
  } catch {
    return false;
  }
}

export function IsCssSelector(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isCssSelector',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: `$property must be a CSS selector (at most ${MAX_SELECTOR_CHARS} characters)`,
        ...options,
      },
      validator: { validate: isCssSelector },
    });
}
