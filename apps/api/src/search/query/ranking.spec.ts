import type { QueryPlan, Variant } from './query-plan';
import { MatchRows, rankChunks, rankDocuments } from './ranking';

/** A plan with one variant per group unless more are given: groups of [lexeme, kind] alternatives. */
function plan(
  groups: Array<Array<[string, Variant['kind']]>>,
  optional?: [string, Variant['kind']],
): QueryPlan {
  const weight = { exact: 1, prefix: 0.7, typo: 0.5 };
  const variants: Variant[] = groups.flatMap((alternatives, group) =>
    alternatives.map(([lexeme, kind]) => ({
      group,
      unit: group,
      kind,
      weight: weight[kind],
      lexemes: [lexeme],
      tsquery: `'${lexeme}'`,
    })),
  );
  if (optional)
    variants.push({
      group: groups.length,
      unit: groups.length,
      kind: optional[1],
      weight: weight[optional[1]],
      lexemes: [optional[0]],
      tsquery: `'${optional[0]}'`,
      optional: true,
    });
  return {
    units: variants.map((v) => ({ kind: 'word', text: v.lexemes[0], tokens: v.lexemes, prefix: false })),
    groupCount: groups.length,
    variants,
    excludedLexemes: [],
    excludedPhrases: null,
    allGroups: null,
    anyGroup: null,
    sequence: null,
    verbatim: null,
    expansionWords: [],
  };
}

function rows(postings: Array<[string, string, number?]>, extra: Partial<MatchRows> = {}): MatchRows {
  return {
    documents: 10,
    totalTerms: 1000,
    postings: postings.map(([lexeme, documentId, tf]) => ({ lexeme, documentId, tf: tf ?? 1, dl: 100 })),
    excluded: [],
    phrases: [],
    proximity: [],
    ...extra,
  };
}

const ids = (r: { documents: Array<{ documentId: string }> }) => r.documents.map((d) => d.documentId);

describe('rankDocuments', () => {
  it('ranks documents holding more groups first, and relaxes only when too few hold them all', () => {
    const p = plan([[['alpha', 'exact']], [['beta', 'exact']]]);
    const r = rows([
      ['alpha', 'both'],
      ['beta', 'both'],
      ['alpha', 'a1', 5],
      ['beta', 'b1'],
    ]);
    const relaxed = rankDocuments(p, r, 10);
    expect(ids(relaxed)[0]).toBe('both');
    expect(relaxed).toMatchObject({ total: 3, relaxed: true });
    // which hold every group (what hybrid fusion keeps first)
    expect(relaxed.documents.map((d) => [d.documentId, d.complete])).toEqual([
      ['both', true],
      ['a1', false],
      ['b1', false],
    ]);
    const strict = rankDocuments(p, r, 1);
    expect(strict).toMatchObject({ total: 1, relaxed: false });
    expect(ids(strict)).toEqual(['both']);
  });

  it('puts corrections below untyped matches, the typed sequence and proximity above BM25, exact above prefix', () => {
    const p = plan([
      [['alpha', 'exact']],
      [
        ['beta', 'exact'],
        ['betas', 'typo'],
      ],
      [
        ['gam', 'exact'],
        ['gamma', 'prefix'],
      ],
    ]);
    const r = rows(
      [
        ...['exact', 'typo', 'seq', 'prefix'].map((d) => ['alpha', d] as [string, string]),
        ['beta', 'exact'],
        ['beta', 'seq'],
        ['beta', 'prefix'],
        ['betas', 'typo'],
        ['gam', 'exact', 9],
        ['gam', 'typo'],
        ['gamma', 'seq'],
        ['gamma', 'prefix', 9],
      ],
      { proximity: [{ documentId: 'seq', seq: 2, cd: 0.01 }] },
    );
    expect(ids(rankDocuments(p, r, 10))).toEqual(['seq', 'exact', 'prefix', 'typo']);
  });

  it('drops excluded documents, checks phrases, and lets an optional word only add to BM25', () => {
    const p = plan([[['alpha', 'exact']]], ['tho', 'exact']);
    p.variants.push({
      group: 0,
      unit: 0,
      kind: 'exact',
      weight: 1,
      lexemes: ['new', 'york'],
      tsquery: "('new' <-> 'york')",
    });
    const r = rows(
      [
        ['alpha', 'a'],
        ['alpha', 'gone'],
        ['tho', 'b'],
        ['tho', 'a'],
        ['new', 'apart'],
        ['york', 'apart'],
        ['new', 'phrase'],
        ['york', 'phrase'],
      ],
      { excluded: ['gone'], phrases: [{ variant: 2, documentId: 'phrase' }] },
    );
    const ranking = rankDocuments(p, r, 10);
    expect(ids(ranking).sort()).toEqual(['a', 'phrase']);
    expect(ranking.documents.find((d) => d.documentId === 'a')?.units).toEqual([0, 1]);
  });

  it('scores in 0–1, descending, and ranks chunks by their own groups and signals', () => {
    const p = plan([[['alpha', 'exact']], [['beta', 'exact']]]);
    const ranking = rankDocuments(
      p,
      rows([
        ['alpha', 'a'],
        ['beta', 'a'],
        ['alpha', 'b', 3],
      ]),
      10,
    );
    const scores = ranking.documents.map((d) => d.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    for (const s of scores) expect(s > 0 && s <= 1).toBe(true);
    const chunks = rankChunks(p, ranking.documents, [
      { documentId: 'a', chunkIndex: 0, units: [0], cd: 0, seq: 0 },
      { documentId: 'a', chunkIndex: 1, units: [0, 1], cd: 0.1, seq: 0 },
      { documentId: 'b', chunkIndex: 0, units: [0], cd: 0, seq: 0 },
      { documentId: 'elsewhere', chunkIndex: 0, units: [0, 1], cd: 0, seq: 0 },
    ]);
    expect(chunks.map((c) => `${c.documentId}:${c.chunkIndex}`)).toEqual(['a:1', 'a:0', 'b:0']);
    // a chunk is complete by its own groups, not its document's
    expect(chunks.map((c) => c.complete)).toEqual([true, false, false]);
  });
});
