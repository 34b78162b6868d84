import {
  MAX_POSITION,
  SENTINEL,
  WordLexemeCache,
  WordLexemes,
  assembleTsvector,
  indexWords,
  isPlainText,
  parseWordLexemes,
} from './index-text';

describe('indexWords (search_index_text on plain text)', () => {
  it('splits at every run of non-alphanumerics and appends each compound joined, in order', () => {
    expect(indexWords('See github.com/foo, node.js and e-mail my_var!')).toEqual([
      'See',
      'github',
      'com',
      'foo',
      'node',
      'js',
      'and',
      'e',
      'mail',
      'my',
      'var',
      'githubcom',
      'nodejs',
      'email',
      'myvar',
    ]);
  });

  it('takes the longest compound and leaves out dangling separators', () => {
    expect(indexWords('os.path.join. a--b -x x.')).toEqual([
      'os',
      'path',
      'join',
      'a',
      'b',
      'x',
      'x',
      'ospathjoin',
    ]);
  });

  it('matches the regular expressions of search_index_text on random text', () => {
    // the SQL function's two expressions, as JavaScript regular expressions (ASCII: [:alnum:] is A-Za-z0-9)
    const reference = (text: string): string[] =>
      `${text.replace(/[^A-Za-z0-9]+/g, ' ')} ${[...text.matchAll(/[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)+/g)]
        .map((m) => m[0].replace(/[^A-Za-z0-9]+/g, ''))
        .join(' ')}`
        .split(' ')
        .filter((w) => w !== '');
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = "aZ9._-  ,/\n'";
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: random(40) }, () => alphabet[random(alphabet.length)]).join('');
      expect(indexWords(text)).toEqual(reference(text));
    }
  });

  it('has no words for text without letters or digits', () => {
    expect(indexWords('')).toEqual([]);
    expect(indexWords(' ... --- ')).toEqual([]);
  });
});

describe('isPlainText', () => {
  it('accepts ASCII and prose punctuation, refuses letters outside ASCII', () => {
    expect(isPlainText('plain text\t1.5 ¶ “quoted” — dash…')).toBe(true);
    expect(isPlainText('café')).toBe(false);
    expect(isPlainText('東京')).toBe(false);
    expect(isPlainText('½')).toBe(false);
  });
});

describe('parseWordLexemes', () => {
  it('reads each word’s width from the sentinel, including a word that is the sentinel', () => {
    const sut = parseWordLexemes([
      { word: 'cats', lexeme: 'cat', positions: '1' },
      { word: 'cats', lexeme: SENTINEL, positions: '2' },
      { word: 'the', lexeme: SENTINEL, positions: '2' },
      { word: 'python', lexeme: 'python', positions: '1' },
      { word: 'python', lexeme: SENTINEL, positions: '2' },
      { word: 'ab', lexeme: 'a', positions: '1' },
      { word: 'ab', lexeme: 'b', positions: '2' },
      { word: 'ab', lexeme: SENTINEL, positions: '3' },
      { word: 'k'.repeat(3000), lexeme: SENTINEL, positions: '1' },
      { word: SENTINEL, lexeme: SENTINEL, positions: '1,2' },
    ]);
    expect(sut.get('cats')).toBe('cat');
    expect(sut.get('the')).toEqual({ width: 1, lexemes: [] });
    expect(sut.get('python')).toBe('python');
    expect(sut.get('ab')).toEqual({
      width: 2,
      lexemes: [
        { lexeme: 'a', offset: 0 },
        { lexeme: 'b', offset: 1 },
      ],
    });
    expect(sut.get('k'.repeat(3000))).toEqual({ width: 0, lexemes: [] });
    expect(sut.get(SENTINEL)).toBe(SENTINEL);
  });
});

describe('assembleTsvector', () => {
  const table: Record<string, WordLexemes> = {
    the: { width: 1, lexemes: [] },
    cats: 'cat',
    cat: { width: 1, lexemes: [{ lexeme: 'cat', offset: 0 }] },
    run: 'run',
    two: {
      width: 2,
      lexemes: [
        { lexeme: 'a', offset: 0 },
        { lexeme: 'b', offset: 1 },
      ],
    },
    long: { width: 0, lexemes: [] },
    "o'k": { width: 1, lexemes: [{ lexeme: "o'k\\", offset: 0 }] },
  };
  const lookup = (w: string): WordLexemes => table[w];

  it('numbers positions as the parser does: stop words take one, unindexable words none', () => {
    expect(assembleTsvector(['the', 'cats', 'long', 'run', 'two', 'cat'], lookup)).toBe(
      "'cat':2,6 'run':3 'a':4 'b':5",
    );
  });

  it('caps positions at 16383, once, and keeps at most 255 per lexeme', () => {
    const many = assembleTsvector(Array<string>(300).fill('cat'), lookup);
    expect(many.split(',').length).toBe(255);
    const far = assembleTsvector(
      [...Array<string>(MAX_POSITION + 5).fill('the'), 'cat', 'run', 'cat'],
      lookup,
    );
    expect(far).toBe(`'cat':${MAX_POSITION} 'run':${MAX_POSITION}`);
  });

  it('escapes quotes and backslashes in lexemes', () => {
    expect(assembleTsvector(["o'k"], lookup)).toBe("'o''k\\\\':1");
  });
});

describe('WordLexemeCache', () => {
  const entry: WordLexemes = { width: 1, lexemes: [] };

  it('keeps the most recently used words up to its bound', () => {
    const sut = new WordLexemeCache(2);
    sut.set('a', entry);
    sut.set('b', entry);
    expect(sut.get('a')).toBe(entry);
    sut.set('c', entry);
    expect(sut.size).toBe(2);
    expect(sut.get('b')).toBeUndefined();
    expect(sut.get('a')).toBe(entry);
    expect(sut.get('c')).toBe(entry);
  });

  it('does not keep words longer than 64 characters', () => {
    const sut = new WordLexemeCache(10);
    sut.set('x'.repeat(65), entry);
    expect(sut.size).toBe(0);
  });
});
