import { randomBytes } from 'node:crypto';
import { CURSOR_PATTERN, DocumentCursors, InvalidCursorError } from './document-cursor';

const STORE = '0b5d3c1e-6f1a-4f7e-9a8b-2c3d4e5f6a7b';
const OTHER_STORE = '9f8e7d6c-5b4a-4321-8765-43210fedcba9';

describe('DocumentCursors', () => {
  const cursors = new DocumentCursors(randomBytes(32));

  it('opens what it sealed, for the same tenant and store', () => {
    for (const position of [1, 2, 41, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      const cursor = cursors.seal('demo', STORE, position);
      expect(cursor).toMatch(CURSOR_PATTERN);
      expect(cursors.open('demo', STORE, cursor)).toBe(position);
    }
  });

  it('reveals nothing: the same length for any position, a different token each time', () => {
    const a = cursors.seal('demo', STORE, 7);
    const b = cursors.seal('demo', STORE, 7);
    const far = cursors.seal('demo', STORE, 7_000_000);
    expect(a).not.toBe(b);
    expect(new Set([a.length, b.length, far.length])).toEqual(new Set([50]));
  });

  it.each([
    ['another store of the tenant', 'demo', OTHER_STORE],
    ['the same store id under another tenant', 'acme', STORE],
  ])('refuses a cursor presented for %s', (_what, tenant, store) => {
    const cursor = cursors.seal('demo', STORE, 12);
    expect(() => cursors.open(tenant, store, cursor)).toThrow(InvalidCursorError);
  });

  it('refuses a cursor sealed under another server key', () => {
    const cursor = new DocumentCursors(randomBytes(32)).seal('demo', STORE, 12);
    expect(() => cursors.open('demo', STORE, cursor)).toThrow(InvalidCursorError);
  });

  it('refuses any altered byte, and malformed or numeric cursors, as 400 VALIDATION_FAILED naming cursor', () => {
    const cursor = cursors.seal('demo', STORE, 12);
    const raw = Buffer.from(cursor, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const changed = Buffer.from(raw);
      changed[i] ^= 0x01;
      expect(() => cursors.open('demo', STORE, changed.toString('base64url'))).toThrow(InvalidCursorError);
    }
    for (const bad of ['', '12', 'abc', cursor.slice(1), `${cursor}A`, cursor.replace(/.$/, '+')])
      expect(() => cursors.open('demo', STORE, bad)).toThrow(InvalidCursorError);
    const err = new InvalidCursorError();
    expect(err.status).toBe(400);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(Object.keys((err.details as { fields: object }).fields)).toEqual(['cursor']);
  });
});
