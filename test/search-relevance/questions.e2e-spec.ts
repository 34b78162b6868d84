import { parseQuery } from '@app/search/query/query-parser';
import { loadCorpus } from './corpus';
import { QUESTIONS } from './questions';

/** The name a target page documents (`library__urllib.parse.html` → `urllib`, `parse`), as words. */
const pageWords = (key: string): string[] =>
  key
    .replace(/^[a-z]+__/, '')
    .replace(/\.html$/, '')
    .split(/[.\-_]/);

/**
 * The hand-written question set (issue 22) is data the relevance benchmark scores against: a target that
 * names no page of the corpus would score as a miss for ever without anyone noticing, so its keys are
 * checked against the real corpus (Debian's python3-doc, which .ci/run installs).
 */
describe('the question set of the relevance benchmark', () => {
  const corpus = new Set(loadCorpus().map((f) => f.filename));

  it('names only pages of the corpus as answers', () => {
    const missing = QUESTIONS.flatMap((q) =>
      q.targets.filter((t) => !corpus.has(t)).map((t) => `${q.id}: ${t}`),
    );
    expect(missing).toEqual([]);
    expect(QUESTIONS.every((q) => q.targets.length > 0 && new Set(q.targets).size === q.targets.length)).toBe(
      true,
    );
  });

  it('holds at least 45 distinct questions over a broad spread of pages', () => {
    expect(QUESTIONS.length).toBeGreaterThanOrEqual(45);
    expect(new Set(QUESTIONS.map((q) => q.id)).size).toBe(QUESTIONS.length);
    expect(new Set(QUESTIONS.map((q) => q.question.toLowerCase())).size).toBe(QUESTIONS.length);
    // one page may answer two questions (difflib does), but the set is not a few modules asked many ways
    expect(new Set(QUESTIONS.map((q) => q.targets[0])).size).toBeGreaterThanOrEqual(45);
  });

  it('asks as a user would: plain words the API accepts as they are, rarely the module’s own name', () => {
    for (const q of QUESTIONS) {
      const parsed = parseQuery(q.question);
      // no operator by accident: every group is one word, nothing excluded, within SEARCH_QUERY_MAX_TERMS
      expect({
        id: q.id,
        exclusions: parsed.exclusions.length,
        ored: parsed.groups.some((g) => g.length > 1),
      }).toEqual({ id: q.id, exclusions: 0, ored: false });
      expect(parsed.groups.every((g) => g[0].kind === 'word')).toBe(true);
      expect(parsed.wordCount).toBeLessThanOrEqual(32);
    }
    // "make a copy of a nested list" may say copy; most questions must not hand search the page's name
    const naming = QUESTIONS.filter((q) => {
      const words = new Set(q.question.toLowerCase().split(/[^a-z0-9_]+/));
      return q.targets.some((t) => pageWords(t).some((w) => words.has(w)));
    }).map((q) => q.id);
    expect(naming.length).toBeLessThanOrEqual(Math.floor(QUESTIONS.length / 10));
  });
});
