import { detectLanguage, documentTitle, TITLE_MAX_CHARS } from './document-facts';

describe('documentTitle', () => {
  it("takes HTML's <title>, else its first <h1>, entities decoded and tags dropped", () => {
    expect(
      documentTitle('text/html', '<html><head><title> Leave &amp; <b>pay</b> </title></head></html>'),
    ).toBe('Leave & pay');
    expect(documentTitle('text/html', '<body><h1 class="x">Fire&#x20;drill</h1><h1>Other</h1></body>')).toBe(
      'Fire drill',
    );
    expect(documentTitle('text/html', '<p>no title here</p>')).toBeUndefined();
  });

  it("takes Markdown's first heading, and no title from other types", () => {
    expect(documentTitle('text/markdown', 'intro line\n\n## Parental leave ##\n# Later')).toBe(
      'Parental leave',
    );
    expect(documentTitle('text/plain', '# not markdown')).toBeUndefined();
    expect(documentTitle('application/pdf', undefined)).toBeUndefined();
    expect(documentTitle('text/markdown', `# ${'x'.repeat(1000)}`)).toHaveLength(TITLE_MAX_CHARS);
  });

  it('answers hostile sources (unclosed tags, long closing sequences) by index searches, not backtracking', () => {
    expect(documentTitle('text/html', '<title x'.repeat(8000))).toBeUndefined();
    expect(documentTitle('text/html', `<TITLE>${'<b'.repeat(30000)}</title>`)).toHaveLength(TITLE_MAX_CHARS);
    expect(documentTitle('text/html', '<titles>no</titles><h1>Yes</h1>')).toBe('Yes');
    expect(documentTitle('text/markdown', `# a${' #'.repeat(30000)}x`)).toBe('a'); // cut at 4096 raw characters, then its closing #s
    expect(documentTitle('text/markdown', `#${' '.repeat(60000)}`)).toBeUndefined();
  });
});

describe('detectLanguage', () => {
  it('tells English, French and German prose apart (ISO 639-3), and gives up on short text', async () => {
    expect(
      await detectLanguage(
        'The employee handbook explains how parental leave is requested and how long it lasts for every member of staff.',
      ),
    ).toBe('eng');
    expect(
      await detectLanguage(
        "Le manuel de l'employé explique comment le congé parental est demandé et combien de temps il dure pour chaque membre du personnel.",
      ),
    ).toBe('fra');
    expect(
      await detectLanguage(
        'Das Mitarbeiterhandbuch erklärt, wie die Elternzeit beantragt wird und wie lange sie für jedes Mitglied des Personals dauert.',
      ),
    ).toBe('deu');
    expect(await detectLanguage('12 34 ok')).toBeUndefined();
  });
});
