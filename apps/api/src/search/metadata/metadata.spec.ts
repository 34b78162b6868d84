import { ValidationFailedError } from '@app/validation/validation';
import { asDate, METADATA_LIMITS, parseUploadMetadata, shortType, validateMetadata } from './metadata';

function fields(fn: () => unknown): Record<string, string[]> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationFailedError);
    return (err as ValidationFailedError).details?.fields as Record<string, string[]>;
  }
  throw new Error('accepted');
}

describe('metadata', () => {
  it('keeps strings, numbers, booleans and string lists; ISO strings become UTC dates', () => {
    expect(
      validateMetadata(
        {
          tags: ['policy', 'hr'],
          owner: 'hr',
          n: 3.5,
          ok: false,
          due: '2026-03-01',
          at: '2026-03-01T10:00+02:00',
        },
        'm',
      ),
    ).toEqual({
      tags: ['policy', 'hr'],
      owner: 'hr',
      n: 3.5,
      ok: false,
      due: '2026-03-01T00:00:00.000Z',
      at: '2026-03-01T08:00:00.000Z',
    });
    expect(asDate('2026-02-30')).toBeUndefined();
    expect(asDate('2026-13-01')).toBeUndefined();
    expect(asDate('2026-02-28T23:59:59Z')).toBe('2026-02-28T23:59:59.000Z');
  });

  it('refuses bad keys, reserved keys, nested objects, long values and too many keys, naming the key', () => {
    expect(fields(() => validateMetadata({ 'a b': 1 }, 'm'))).toHaveProperty(['m.a b']);
    expect(fields(() => validateMetadata({ title: 'x' }, 'm'))['m.title'][0]).toMatch(/set by Atrium/);
    expect(fields(() => validateMetadata({ o: { x: 1 } }, 'm'))).toHaveProperty(['m.o']);
    expect(fields(() => validateMetadata({ l: [1] }, 'm'))['m.l'][0]).toMatch(/strings only/);
    expect(fields(() => validateMetadata({ s: 'x'.repeat(1025) }, 'm'))).toHaveProperty(['m.s']);
    expect(fields(() => validateMetadata({ n: null }, 'm'))).toHaveProperty(['m.n']);
    expect(validateMetadata({ n: null }, 'm', { allowNull: true })).toEqual({ n: null });
    const many = Object.fromEntries(Array.from({ length: METADATA_LIMITS.keys + 1 }, (_, i) => [`k${i}`, i]));
    expect(fields(() => validateMetadata(many, 'm'))['m'][0]).toMatch(/at most 32/);
    const big = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]));
    expect(fields(() => validateMetadata(big, 'm'))['m'][0]).toMatch(/8192 bytes/);
  });

  it('parses the upload field keyed by filename, refusing depth before parsing, and size, shape and count', () => {
    const m = parseUploadMetadata('{"policy.pdf": {"tags": ["policy"], "owner": "hr"}}', false, 10);
    expect(m.get('policy.pdf')).toEqual({ tags: ['policy'], owner: 'hr' });
    expect(fields(() => parseUploadMetadata('{"a": {"b": [["x"]]}}', false, 10)).metadata[0]).toMatch(
      /deeper/,
    );
    expect(fields(() => parseUploadMetadata(`${'['.repeat(60000)}`, false, 10)).metadata[0]).toMatch(
      /deeper/,
    );
    expect(fields(() => parseUploadMetadata('{"a": {}', false, 10)).metadata[0]).toMatch(/must be JSON/);
    expect(fields(() => parseUploadMetadata('[]', false, 10)).metadata[0]).toMatch(/keyed by filename/);
    expect(fields(() => parseUploadMetadata('{}', true, 10)).metadata[0]).toMatch(/larger than/);
    expect(fields(() => parseUploadMetadata('{"a":{},"b":{}}', false, 1)).metadata[0]).toMatch(/at most 1/);
    expect(fields(() => parseUploadMetadata('{"a.txt": {"x": {"y": 1}}}', false, 5))).toHaveProperty([
      'metadata["a.txt"].x',
    ]);
  });

  it('names content types shortly', () => {
    expect(shortType('application/pdf')).toBe('pdf');
    expect(shortType('text/markdown')).toBe('markdown');
    expect(shortType('application/vnd.oasis.opendocument.text')).toBe('text');
  });
});
