/**
 * C0/C1 control characters (NUL included: PostgreSQL text cannot hold it), DEL, and lone UTF-16 surrogates:
 * refused in caller-given keys and words (externalId, store settings).
 */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- control characters are what this pattern finds
  /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function hasUnsafeCharacters(text: string): boolean {
  return UNSAFE.test(text);
}
