import { FILTER_LIMITS, InvalidFilterError, parseFilter } from './filter-parser';
import { filterSql } from './filter-sql';

function failure(input: string): { message: string; position: number } {
  try {
    parseFilter(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidFilterError);
    const e = err as InvalidFilterError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('INVALID_FILTER');
    return { message: e.message, position: (e.details as { position: number }).position };
  }
  throw new Error(`parsed: ${input}`);
}

describe('parseFilter', () => {
  it('parses the documented example with AND binding tighter than OR, and classifies values', () => {
    expect(parseFilter('type = pdf AND tags = policy OR uploadedAt >= 2026-01-01')).toEqual({
      type: 'or',
      items: [
        {
          type: 'and',
          items: [
            { type: 'compare', key: 'type', op: '=', value: { kind: 'string', value: 'pdf' } },
            { type: 'compare', key: 'tags', op: '=', value: { kind: 'string', value: 'policy' } },
          ],
        },
        {
          type: 'compare',
          key: 'uploadedAt',
          op: '>=',
          value: { kind: 'date', value: '2026-01-01T00:00:00.000Z' },
        },
      ],
    });
    expect(parseFilter('n < -1.5e2')).toMatchObject({ value: { kind: 'number', value: -150 } });
    expect(parseFilter('draft = TRUE')).toMatchObject({ value: { kind: 'boolean', value: true } });
    expect(parseFilter('code = "42"')).toMatchObject({ value: { kind: 'string', value: '42' } });
    expect(parseFilter("owner = 'o\\'brien'")).toMatchObject({ value: { kind: 'string', value: "o'brien" } });
  });

  it('parses IN, NOT IN, EXISTS, NOT EXISTS, NOT and parentheses, keywords in any case', () => {
    expect(parseFilter('tags in (a, "b c") and not (owner exists or x not exists) AND y NOT IN (1)')).toEqual(
      {
        type: 'and',
        items: [
          {
            type: 'in',
            key: 'tags',
            values: [
              { kind: 'string', value: 'a' },
              { kind: 'string', value: 'b c' },
            ],
          },
          {
            type: 'not',
            item: {
              type: 'or',
              items: [
                { type: 'exists', key: 'owner' },
                { type: 'not', item: { type: 'exists', key: 'x' } },
              ],
            },
          },
          { type: 'not', item: { type: 'in', key: 'y', values: [{ kind: 'number', value: 1 }] } },
        ],
      },
    );
  });

  it('refuses malformed filters with 400 INVALID_FILTER and the 1-based position', () => {
    expect(failure('type = ')).toMatchObject({ position: 8 });
    expect(failure('type pdf').message).toMatch(/expected an operator.*at position 6/);
    expect(failure('(type = pdf')).toMatchObject({ position: 12 });
    expect(failure('type = pdf)').message).toMatch(/unbalanced/);
    expect(failure('type = "pdf')).toMatchObject({ position: 8 });
    expect(failure('type ! pdf')).toMatchObject({ position: 6 });
    expect(failure('1abc = x').message).toMatch(/key/);
    expect(failure('a = and').message).toMatch(/keyword/);
    expect(failure('draft > true').message).toMatch(/not booleans/);
    expect(failure('a IN ()').message).toMatch(/expected a value/);
    expect(failure('a = b; DROP TABLE x').message).toMatch(/unexpected character ";"/);
    expect(failure('   ').message).toMatch(/empty/);
  });

  it('bounds length, nesting, conditions and IN values before any SQL is built', () => {
    expect(failure('a = b OR '.repeat(300)).message).toMatch(/longer than 2000/);
    const deep = `${'('.repeat(FILTER_LIMITS.depth + 1)}a = b${')'.repeat(FILTER_LIMITS.depth + 1)}`;
    expect(failure(deep)).toMatchObject({ position: FILTER_LIMITS.depth + 1 });
    expect(failure(`${'NOT '.repeat(FILTER_LIMITS.depth + 1)}a = b`).message).toMatch(/nested deeper/);
    expect(
      parseFilter(`${'('.repeat(FILTER_LIMITS.depth)}a = b${')'.repeat(FILTER_LIMITS.depth)}`),
    ).toBeTruthy();
    const ors = Array.from({ length: FILTER_LIMITS.conditions + 1 }, (_, i) => `k = ${i}`).join(' OR ');
    expect(failure(ors).message).toMatch(/more than 50 conditions/);
    const list = Array.from({ length: FILTER_LIMITS.inValues + 1 }, (_, i) => i).join(',');
    expect(failure(`k IN (${list})`).message).toMatch(/at most 100 values/);
  });
});

describe('filterSql', () => {
  it('puts every key and value in parameters, never in the SQL text', () => {
    const params: unknown[] = [];
    const sql = filterSql(
      parseFilter(`owner = "x'); DROP TABLE t; --" AND n > 3 AND d <= 2026-01-01 AND s < m AND k EXISTS`),
      'd.metadata',
      (v) => `$${params.push(v)}`,
    );
    expect(sql).not.toContain('DROP');
    expect(sql).not.toContain('owner');
    expect(params).toEqual([
      JSON.stringify({ owner: "x'); DROP TABLE t; --" }),
      JSON.stringify({ owner: ["x'); DROP TABLE t; --"] }),
      'n',
      '3',
      'd',
      '2026-01-01T00:00:00.000Z',
      's',
      'm',
      'k',
    ]);
    expect(sql).toMatch(/\(d\.metadata \? \$9::text\)/);
  });
});
