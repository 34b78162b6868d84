/**
 * Offline fusion tuning (issue 22): `npm run bench:fusion-tuning [-- --file=… --adapter=postgres]`.
 *
 * Reads the component rankings the relevance benchmark recorded (`npm run bench:relevance -- --record-rankings`,
 * test/load/reports/search-rankings.quick.json: per query the lexical list hybrid mode fuses, with scores and
 * how many documents hold every query group, and the semantic list with cosine similarities) and replays
 * fusion rules on them, without the app or the model: first today's rule (equal-weight RRF, k = 60), which must
 * give the app's recorded hybrid top 10 back, then a small grid of candidates — weighted RRF, a convex
 * combination of normalised scores (Bruch et al. 2022), documents holding every query term first, a
 * confidence rule on the lexical top score — and the rule the app ships (query/fusion.ts).
 *
 * Against overfitting: the queries are split in two halves, deterministically (alternate queries of each style
 * and of the questions); a rule is chosen on the first half only — the highest question MRR@10 among rules
 * keeping every known-item style ≥ 0.95, the fewest parameters on a tie — and reported on the second.
 * Deterministic: no randomness, ties in a fused list broken as fusion.ts breaks them.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hybridFusion, reciprocalRankFusion } from '@app/search/query/fusion';

const ROOT = resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const arg = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const FILE = arg('file') ?? join(ROOT, 'test', 'load', 'reports', 'search-rankings.quick.json');
const ADAPTER = arg('adapter') ?? 'postgres';
const TARGET_STYLES = 0.95;
/**
 * Rules within this of the best question MRR@10 on the tuning half count as tied, and the one with the fewest
 * parameters wins: less than one of the ~35 tuning questions moving from first to second place (0.5 / 35).
 */
const TIE = 0.01;

interface Item {
  kind: 'known' | 'question';
  name: string;
  query: string;
  targets: number[];
  lexical: { total10: number; allTerms: number; ranked: Array<[number, number, number]> };
  semantic: Array<[number, number]>;
  hybrid: number[];
}

/** What a fusion rule is given: both lists as hybrid mode sees them. */
interface Lists {
  lexical: string[];
  lexicalScore: Map<string, number>;
  /** How many of the first lexical documents hold every query group. */
  allTerms: number;
  semantic: string[];
  similarity: Map<string, number>;
}

type Rule = (l: Lists) => string[];

interface Candidate {
  name: string;
  params: number;
  rule: Rule;
}

const saved = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, { docs: string[]; items: Item[] }>;
const data = saved[ADAPTER];
if (!data) throw new Error(`${FILE}: no rankings for ${ADAPTER} (has ${Object.keys(saved).join(', ')})`);

const lists = (item: Item): Lists => {
  const lexical = item.lexical.ranked.slice(0, item.lexical.total10);
  return {
    lexical: lexical.map(([d]) => String(d)),
    lexicalScore: new Map(lexical.map(([d, s]) => [String(d), s])),
    allTerms: item.lexical.allTerms,
    semantic: item.semantic.map(([d]) => String(d)),
    similarity: new Map(item.semantic.map(([d, s]) => [String(d), s])),
  };
};

/** The group a query is scored in: its known-item style, or `question`. */
const group = (item: Item): string => (item.kind === 'known' ? item.name : 'question');
const GROUPS = [...new Set(data.items.map(group))];

// the halves: alternate items of each group
const seen = new Map<string, number>();
const half = data.items.map((item) => {
  const n = seen.get(group(item)) ?? 0;
  seen.set(group(item), n + 1);
  return n % 2;
});

const reciprocal = (item: Item, ranked: string[]): number => {
  const top = ranked.slice(0, 10);
  const ranks = item.targets.map((t) => top.indexOf(String(t)) + 1).filter((r) => r > 0);
  return ranks.length ? 1 / Math.min(...ranks) : 0;
};

interface Scores {
  byGroup: Record<string, number>;
  minStyle: number;
  question: number;
}

function evaluate(rule: Rule, which: number | 'all'): Scores {
  const sums = new Map<string, { rr: number; n: number }>();
  data.items.forEach((item, i) => {
    if (which !== 'all' && half[i] !== which) return;
    const s = sums.get(group(item)) ?? { rr: 0, n: 0 };
    s.rr += reciprocal(item, rule(lists(item)));
    s.n++;
    sums.set(group(item), s);
  });
  const byGroup: Record<string, number> = {};
  for (const g of GROUPS) {
    const s = sums.get(g);
    byGroup[g] = s ? s.rr / s.n : 0;
  }
  const styles = GROUPS.filter((g) => g !== 'question').map((g) => byGroup[g]);
  return { byGroup, minStyle: Math.min(...styles), question: byGroup.question ?? 0 };
}

// ---- the rules -------------------------------------------------------------------------------------------

const byScore = (scores: Map<string, number>, tiebreak: string[][]): string[] => {
  const first = new Map<string, number>();
  const best = new Map<string, number>();
  let n = 0;
  for (const list of tiebreak)
    list.forEach((k, i) => {
      if (!first.has(k)) first.set(k, n++);
      best.set(k, Math.min(best.get(k) ?? Infinity, i));
    });
  return [...scores.keys()].sort(
    (a, b) =>
      (scores.get(b) ?? 0) - (scores.get(a) ?? 0) ||
      (best.get(a) ?? 0) - (best.get(b) ?? 0) ||
      (first.get(a) ?? 0) - (first.get(b) ?? 0),
  );
};

/** Σ w / (k + rank) over the lists. */
const weightedRrf =
  (k: number, lexicalWeight: number): Rule =>
  (l) => {
    const scores = new Map<string, number>();
    l.lexical.forEach((d, i) => scores.set(d, (scores.get(d) ?? 0) + lexicalWeight / (k + i + 1)));
    l.semantic.forEach((d, i) => scores.set(d, (scores.get(d) ?? 0) + 1 / (k + i + 1)));
    return byScore(scores, [l.lexical, l.semantic]);
  };

/** min-max over the list (1 for a list of one). */
const minMax = (m: Map<string, number>): Map<string, number> => {
  const v = [...m.values()];
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return new Map([...m].map(([k, x]) => [k, hi > lo ? (x - lo) / (hi - lo) : 1]));
};

/** α · lexical + (1 − α) · semantic, each min-max normalised over its list; absent from a list: 0. */
const convex =
  (alpha: number): Rule =>
  (l) => {
    const lex = minMax(l.lexicalScore);
    const sem = minMax(l.similarity);
    const scores = new Map<string, number>();
    for (const d of [...l.lexical, ...l.semantic])
      scores.set(d, alpha * (lex.get(d) ?? 0) + (1 - alpha) * (sem.get(d) ?? 0));
    return byScore(scores, [l.lexical, l.semantic]);
  };

/** The documents holding every query group first (in the inner rule's order), then the rest. */
const allTermsFirst =
  (inner: Rule): Rule =>
  (l) => {
    const all = new Set(l.lexical.slice(0, l.allTerms));
    const fused = inner(l);
    return [...fused.filter((d) => all.has(d)), ...fused.filter((d) => !all.has(d))];
  };

/** The documents holding every query group first, in lexical order, then the rest in the inner rule's. */
const allTermsLexicalFirst =
  (inner: Rule): Rule =>
  (l) => {
    const all = l.lexical.slice(0, l.allTerms);
    const set = new Set(all);
    return [...all, ...inner(l).filter((d) => !set.has(d))];
  };

/** The first lexical documents (at most n) that hold every query group stay first, in lexical order. */
const pinAllTerms =
  (n: number, inner: Rule): Rule =>
  (l) => {
    const pinned = l.lexical.slice(0, Math.min(n, l.allTerms));
    const set = new Set(pinned);
    return [...pinned, ...inner(l).filter((d) => !set.has(d))];
  };

/** When lexical's first score leads its second by ≥ gap (or stands alone), it stays first. */
const confident =
  (gap: number, inner: Rule): Rule =>
  (l) => {
    const fused = inner(l);
    const [a, b] = l.lexical;
    if (a === undefined) return fused;
    const lead = (l.lexicalScore.get(a) ?? 0) - (b === undefined ? 0 : (l.lexicalScore.get(b) ?? 0));
    return lead >= gap ? [a, ...fused.filter((d) => d !== a)] : fused;
  };

const lexicalOnly: Rule = (l) => l.lexical;
const semanticOnly: Rule = (l) => l.semantic;
const rrf60: Rule = (l) => reciprocalRankFusion([l.lexical, l.semantic]).map((r) => r.key);
// what the app runs: the documents holding every group are lexical's first `allTerms`
const shipped: Rule = (l) =>
  hybridFusion(
    l.lexical.map((key, i) => ({ key, complete: i < l.allTerms })),
    l.semantic,
  ).map((r) => r.key);

const candidates: Candidate[] = [];
for (const k of [1, 5, 10, 20, 30, 60])
  for (const w of [1, 1.5, 2, 3, 4, 6, 10])
    candidates.push({
      name: `RRF k=${k}, lexical weight ${w}`,
      params: w === 1 ? 1 : 2,
      rule: weightedRrf(k, w),
    });
for (let a = 0.1; a < 0.96; a += 0.05) {
  const alpha = Math.round(a * 100) / 100;
  candidates.push({ name: `convex α=${alpha} (min-max)`, params: 1, rule: convex(alpha) });
}
for (const k of [10, 30, 60])
  for (const w of [1, 2, 3])
    candidates.push({
      name: `all terms first, then RRF k=${k} weight ${w}`,
      params: w === 1 ? 1 : 2,
      rule: allTermsFirst(weightedRrf(k, w)),
    });
for (const k of [10, 30, 60])
  for (const w of [1, 2])
    candidates.push({
      name: `all terms first in lexical order, then RRF k=${k} weight ${w}`,
      params: w === 1 ? 1 : 2,
      rule: allTermsLexicalFirst(weightedRrf(k, w)),
    });
for (const n of [1, 2, 3, 5])
  for (const k of [10, 30, 60])
    for (const w of [1, 1.5, 2])
      candidates.push({
        name: `lexical's first ${n} holding all terms kept first, then RRF k=${k} weight ${w}`,
        params: (n === 1 ? 0 : 1) + (k === 60 ? 0 : 1) + (w === 1 ? 0 : 1),
        rule: pinAllTerms(n, weightedRrf(k, w)),
      });
for (const alpha of [0.3, 0.5, 0.7])
  candidates.push({
    name: `all terms first, then convex α=${alpha}`,
    params: 1,
    rule: allTermsFirst(convex(alpha)),
  });
for (const gap of [0.01, 0.02, 0.05, 0.1, 0.2])
  candidates.push({
    name: `lexical first when it leads by ≥ ${gap}, then RRF k=60`,
    params: 1,
    rule: confident(gap, rrf60),
  });

// ---- the run ---------------------------------------------------------------------------------------------

const replayed = data.items.filter((item) => {
  const mine = rrf60(lists(item)).slice(0, 10);
  return mine.length === item.hybrid.length && mine.every((d, i) => d === String(item.hybrid[i]));
}).length;

const fmt = (x: number): string => x.toFixed(3);
const row = (name: string, s: Scores): string =>
  `| ${name} | ${GROUPS.map((g) => fmt(s.byGroup[g])).join(' | ')} |`;
const header = (): string[] => [
  `| Rule | ${GROUPS.join(' | ')} |`,
  `|---|${GROUPS.map(() => '---:|').join('')}`,
];

const out: string[] = [];
out.push(
  `${data.items.length} queries (${ADAPTER}, ${FILE.replace(`${ROOT}/`, '')}); halves ${half.filter((h) => h === 0).length} / ${half.filter((h) => h === 1).length}.`,
  `Replay of today's fusion (equal-weight RRF, k = 60) against the app's recorded hybrid top 10: ${replayed} of ${data.items.length} identical.`,
  '',
);

const tuned = candidates
  .map((c) => ({ c, s: evaluate(c.rule, 0) }))
  .sort(
    (a, b) =>
      Number(b.s.minStyle >= TARGET_STYLES) - Number(a.s.minStyle >= TARGET_STYLES) ||
      b.s.question - a.s.question ||
      a.c.params - b.c.params ||
      b.s.minStyle - a.s.minStyle,
  );
out.push(
  `Tuning half: the 12 best of ${candidates.length} candidates (every style ≥ ${TARGET_STYLES} first, then question MRR@10)`,
  '',
);
out.push(...header());
for (const { c, s } of tuned.slice(0, 12)) out.push(row(c.name, s));
out.push('', 'Tuning half, the best of each family regardless of the styles:', '');
out.push(...header());
const families = [
  'RRF k=',
  'convex',
  'all terms first, then RRF',
  'all terms first in lexical order',
  "lexical's first 1 ",
  "lexical's first 2 ",
  "lexical's first 3 ",
  "lexical's first 5 ",
  'all terms first, then convex',
  'lexical first when',
];
for (const f of families) {
  const best = candidates
    .filter((c) => c.name.startsWith(f))
    .map((c) => ({ c, s: evaluate(c.rule, 0) }))
    .sort((a, b) => b.s.question + b.s.minStyle - (a.s.question + a.s.minStyle))[0];
  if (best) out.push(row(`${best.c.name} (question + min style)`, best.s));
}

const bestQuestion = [...tuned].sort((a, b) => b.s.question - a.s.question)[0];
out.push(
  '',
  `Highest question MRR@10 on the tuning half, any rule: ${fmt(bestQuestion.s.question)} (${bestQuestion.c.name}; lowest style ${fmt(bestQuestion.s.minStyle)}).`,
);
const passing = tuned.filter((t) => t.s.minStyle >= TARGET_STYLES);
const pool = passing.length ? passing : tuned;
const chosen = pool
  .filter((t) => t.s.question >= pool[0].s.question - TIE)
  .sort((a, b) => a.c.params - b.c.params || b.s.question - a.s.question)[0].c;
out.push(
  '',
  `Chosen: ${chosen.name} (${chosen.params} parameters; the fewest among rules within ${TIE} of the best question MRR@10 that keep every style ≥ ${TARGET_STYLES} on the tuning half).`,
);
const baselines: Array<[string, Rule]> = [
  ['lexical', lexicalOnly],
  ['semantic', semanticOnly],
  ['hybrid today: RRF k=60, equal weights', rrf60],
  [`chosen on the tuning half: ${chosen.name}`, chosen.rule],
  ['shipped (query/fusion.ts hybridFusion)', shipped],
];
for (const [label, which] of [
  ['Tuning half (the rule was chosen on these)', 0],
  ['Held-out half (the chosen rule was not tuned on these)', 1],
  ['All queries', 'all'],
] as const) {
  out.push('', `${label}:`, '');
  out.push(...header());
  for (const [name, rule] of baselines) out.push(row(name, evaluate(rule, which)));
}
process.stdout.write(`${out.join('\n')}\n`);
