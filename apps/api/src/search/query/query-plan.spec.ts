import { parseQuery } from './query-parser';
import { AnalysisResult, analysisRequests, buildPlan } from './query-plan';

/** A fake database answer: each request's lexemes (one per token unless given), known unless listed. */
function analyse(
  query: string,
  lexemes: Record<string, Array<[string, number]>>,
  extra: Record<string, Partial<AnalysisResult>> = {},
  unknown: string[] = [],
) {
  const parsed = parseQuery(query);
  const { requests, index } = analysisRequests(parsed);
  const results: AnalysisResult[] = requests.map((r) => ({
    lexemes: (lexemes[r.text] ?? []).map(([lexeme, position]) => ({
      lexeme,
      position,
      known: !unknown.includes(r.text),
    })),
    typos: [],
    prefixes: [],
    ...extra[r.text],
  }));
  return { parsed, requests, plan: buildPlan(parsed, results, index) };
}

describe('query plan', () => {
  it('asks for corrections of single words from 5 characters, completions of the last word only', () => {
    const { requests } = analyse('node.js widgets configu', {});
    expect(requests).toEqual([
      { text: 'node js', typos: false, prefix: false },
      { text: 'nodejs', typos: false, prefix: false },
      { text: 'widgets', typos: true, prefix: false },
      { text: 'configu', typos: true, prefix: true },
    ]);
    expect(analyse('-draftss x', {}).requests[1]).toEqual({ text: 'draftss', typos: false, prefix: false });
  });

  it('matches a compound by its parts in sequence or its joined form, and builds the sequence phrase', () => {
    const { plan } = analyse('github details node.js', {
      github: [['github', 1]],
      details: [['detail', 1]],
      'node js': [
        ['node', 1],
        ['js', 2],
      ],
      nodejs: [['nodej', 1]],
    });
    expect(plan.groupCount).toBe(3);
    expect(plan.variants.map((v) => [v.group, v.kind, v.tsquery])).toEqual([
      [0, 'exact', "'github'"],
      [1, 'exact', "'detail'"],
      [2, 'exact', "('node' <-> 'js')"],
      [2, 'exact', "'nodej'"],
    ]);
    expect(plan.allGroups).toBe("'github' & 'detail' & (('node' <-> 'js') | 'nodej')");
    expect(plan.sequence).toBe("'github' <-> 'detail' <-> (('node' <-> 'js') | 'nodej')");
    expect(plan.verbatim).toBe('(^| )github details node js( |$)');
  });

  it('keeps stop words as gaps in the sequence and as words in the verbatim pattern', () => {
    const { plan } = analyse('returns a new list', {
      returns: [['return', 1]],
      new: [['new', 1]],
      list: [['list', 1]],
    });
    expect(plan.groupCount).toBe(3);
    expect(plan.sequence).toBe("'return' <2> 'new' <-> 'list'");
    expect(plan.verbatim).toBe('(^| )returns a new list( |$)');
  });

  it('corrects an unknown word within its allowed typos, ranks its own stem like a correction', () => {
    const { plan } = analyse(
      'configurng widgets',
      { configurng: [['configurng', 1]], widgets: [['widget', 1]] },
      {
        configurng: {
          typos: [
            { word: 'configuring', lexeme: 'configur', docs: 4 },
            { word: 'configure', lexeme: 'configur', docs: 9 },
            { word: 'conferring', lexeme: 'confer', docs: 2 },
          ],
        },
      },
      ['configurng'],
    );
    const group0 = plan.variants.filter((v) => v.group === 0);
    expect(group0.map((v) => [v.kind, v.tsquery, v.weight])).toEqual([
      ['typo', "'configurng'", 0.5],
      ['typo', "'configur'", 0.5],
    ]);
    // `configure` is two typos away (allowed from 9 characters), `conferring` three
    expect(plan.expansionWords).toEqual(['configuring', 'configure']);
    expect(plan.verbatim).toBe('(^| )[[:alnum:]]+ widgets( |$)');
  });

  it('treats a typo of a stop word as that stop word', () => {
    const { plan } = analyse('whree widgets', { whree: [['whree', 1]], widgets: [['widget', 1]] }, {}, [
      'whree',
    ]);
    expect(plan.groupCount).toBe(1);
    expect(plan.variants.map((v) => v.tsquery)).toEqual(["'widget'"]);
  });

  it('completes the last word, keeping the better way a lexeme was reached', () => {
    const { plan } = analyse(
      'containment testi',
      { containment: [['contain', 1]], testi: [['testi', 1]] },
      {
        testi: {
          typos: [{ word: 'tests', lexeme: 'test', docs: 30 }],
          prefixes: [
            { word: 'testing', lexeme: 'test', docs: 40 },
            { word: 'testimony', lexeme: 'testimoni', docs: 1 },
          ],
        },
      },
      ['testi'],
    );
    expect(plan.variants.filter((v) => v.group === 1).map((v) => [v.kind, v.tsquery])).toEqual([
      ['typo', "'testi'"],
      ['prefix', "'test'"],
      ['prefix', "'testimoni'"],
    ]);
    expect(plan.verbatim).toBe('(^| )containment testi[[:alnum:]]*( |$)');
  });

  it('collects exclusions (words and phrases) and drops the sequence when OR is used', () => {
    const { plan } = analyse('"parental leave" OR sabbatical -draft -"old copy"', {
      'parental leave': [
        ['parent', 1],
        ['leav', 2],
      ],
      sabbatical: [['sabbat', 1]],
      draft: [['draft', 1]],
      'old copy': [
        ['old', 1],
        ['copi', 2],
      ],
    });
    expect(plan.groupCount).toBe(1);
    expect(plan.allGroups).toBe("(('parent' <-> 'leav') | 'sabbat')");
    expect(plan.excludedLexemes).toEqual(['draft']);
    expect(plan.excludedPhrases).toBe("('old' <-> 'copi')");
    expect(plan.sequence).toBeNull();
    expect(plan.verbatim).toBeNull();
  });

  it('makes a last word that may be a stop word being typed optional (`tho` → `those`)', () => {
    const { plan } = analyse(
      'import will turn tho',
      { import: [['import', 1]], turn: [['turn', 1]], tho: [['tho', 1]] },
      { tho: { prefixes: [{ word: 'though', lexeme: 'though', docs: 5 }] } },
    );
    expect(plan.groupCount).toBe(2);
    expect(plan.allGroups).toBe("'import' & 'turn'");
    expect(plan.variants.filter((v) => v.optional).map((v) => v.tsquery)).toEqual(["'tho'", "'though'"]);
    expect(plan.variants.filter((v) => v.optional).every((v) => v.group === 2)).toBe(true);
    expect(plan.verbatim).toBe('(^| )import will turn tho[[:alnum:]]*( |$)');
  });

  it('has no group when every word is a stop word', () => {
    expect(analyse('the and of', {}).plan.groupCount).toBe(0);
  });
});
