// The parsers as the extraction child runs them, called in-process: the pool's specs run the same code in
// child processes (where coverage cannot see it); this one checks each job kind and the text limit directly,
// with the handler modules the app registers (search's and the downloader's), loaded by path as the child does.
import { buildDocx, buildElf, buildPdf, buildZip } from '../../../../../test/fixtures/documents/builders';
import type { PreparedDocument as PreparedDocumentMessage } from '../../search/upload/search.extraction-jobs';
import { ArchiveRefusal } from '../zip-directory';
import { createJobRunner, OutputTooLarge } from './jobs';
import type { ArchiveLimitsMessage, ExtractionJob } from './protocol';

const SEARCH_JOBS = require.resolve('../../search/upload/search.extraction-jobs');
const DOWNLOADER_JOBS = require.resolve('../../downloader/extraction/downloader.extraction-jobs');
const runner = createJobRunner([SEARCH_JOBS, DOWNLOADER_JOBS]);
/** A job of any registered kind (each module declares its own job type). */
const runJob = (job: ExtractionJob & Record<string, unknown>) => runner(job);

const archive: ArchiveLimitsMessage = {
  maxEntries: 100,
  maxUncompressedBytes: 8 * 1024 * 1024,
  maxRatio: 100,
};
const html =
  '<html><head><title>Field notes</title><style>p{}</style></head><body><nav>menu</nav>' +
  '<article><h1>Pangolins</h1><p>The pangolin is the only mammal covered in keratin scales, and it eats ants.</p>' +
  '<p>It rolls into a ball when threatened, which protects it from most predators in the wild.</p></article></body></html>';

describe('runJob (the extraction child’s parsers, in-process)', () => {
  it('pdf: the text of every page', async () => {
    const text = await runJob({
      kind: 'pdf',
      data: buildPdf(['first pangolin', 'second line']),
      maxTextChars: 1000,
    });
    expect(text).toContain('first pangolin');
    expect(text).toContain('second line');
  });

  it('docx: the paragraphs, after the real inflated sizes are checked; a Uint8Array view works too', async () => {
    const docx = buildDocx(['alpha paragraph', 'beta paragraph']);
    const view = new Uint8Array(docx.buffer, docx.byteOffset, docx.byteLength);
    for (const data of [docx, view]) {
      const text = await runJob({ kind: 'docx', data, archive, maxTextChars: 1000 });
      expect(text).toMatch(/alpha paragraph\s+beta paragraph/);
    }
  });

  it('docx: an archive over the limits is refused before mammoth inflates it', async () => {
    const job = {
      kind: 'docx',
      data: buildZip([['word/document.xml', 'x'.repeat(4096)]]),
      archive: { ...archive, maxUncompressedBytes: 1024 },
      maxTextChars: 1000,
    };
    await expect(runJob(job)).rejects.toBeInstanceOf(ArchiveRefusal);
  });

  it('html-text: the visible text of a page (no scripts or styles)', async () => {
    const text = await runJob({ kind: 'html-text', html, maxTextChars: 1000 });
    expect(text).toContain('The pangolin is the only mammal');
    expect(text).not.toContain('p{}');
  });

  it('html-article: the article as markdown', async () => {
    const text = await runJob({
      kind: 'html-article',
      html,
      url: 'https://example.test/pangolins',
      format: 'markdown',
      maxTextChars: 1000,
    });
    expect(text).toContain('rolls into a ball');
    expect(text).not.toContain('menu');
  });

  it('refuses a text longer than the job allows (OutputTooLarge, reason text_too_large)', async () => {
    const err = await runJob({ kind: 'html-text', html, maxTextChars: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputTooLarge);
    expect(err).toMatchObject({ reason: 'text_too_large', limit: 10, name: 'OutputTooLarge' });
  });

  describe("document: a search upload's whole text pipeline", () => {
    const prepare = (data: Buffer | string, filename: string, over: Record<string, unknown> = {}) =>
      runJob({
        kind: 'document',
        data: Buffer.from(data),
        filename,
        archive,
        maxTextChars: 1000,
        chunkChars: 100,
        chunkOverlapChars: 20,
        ...over,
      }) as Promise<PreparedDocumentMessage>;
    const chunksOf = (r: PreparedDocumentMessage): string[] =>
      Array.from({ length: r.ranges.length / 2 }, (_, i) =>
        r.text.slice(r.ranges[2 * i], r.ranges[2 * i + 1]),
      );

    it.each([
      ['notes.txt', 'Pangolins eat ants.\r\nThey roll up.', 'text/plain'],
      ['ledger.csv', 'id,name\n1,pangolin\n2,aardvark\n', 'text/csv'],
      ['data.json', '{"animal": "pangolin", "food": ["ants"]}', 'application/json'],
      ['page.html', html, 'text/html'],
    ])('%s: type, normalised text and chunks', async (filename, data, contentType) => {
      const r = await prepare(data, filename);
      expect(r.contentType).toBe(contentType);
      expect(r.text).not.toContain('\r');
      expect(r.ranges).toBeInstanceOf(Uint32Array);
      const chunks = chunksOf(r);
      expect(chunks.length).toBeGreaterThan(0);
      for (const c of chunks) expect(c.length).toBeLessThanOrEqual(100);
    });

    it('pdf and docx through their parsers, the docx judged by its directory first', async () => {
      expect((await prepare(buildPdf(['first pangolin']), 'a.pdf')).text).toContain('first pangolin');
      expect((await prepare(buildDocx(['alpha paragraph']), 'a.docx')).text).toContain('alpha paragraph');
      const many = buildZip(Array.from({ length: 5 }, (_, i) => [`f${i}.xml`, 'x'] as [string, string]));
      await expect(
        prepare(many, 'a.docx', { archive: { ...archive, maxEntries: 2 } }),
      ).rejects.toBeInstanceOf(Error);
    });

    it('the issue payload (one word and 100,000 combining marks): CGJs inserted, every mark kept', async () => {
      const text = `word${'\u0301'.repeat(50_000)}${'\u0316'.repeat(50_000)}`;
      const r = await prepare(text, 'marks.txt', { chunkChars: 1200, chunkOverlapChars: 200 });
      // NFC reorders the marks within each run of 30 (220 before 230), never across a CGJ
      const marks = r.text.replace(/\u034f/g, '');
      expect([marks.length, marks.match(/\u0316/g)?.length]).toEqual([text.length, 50_000]);
      expect(marks.startsWith(`word${'\u0301'.repeat(30)}`)).toBe(true);
      expect(r.text.split('\u034f')).toHaveLength(Math.floor((100_000 - 1) / 30) + 1);
    });

    it.each([
      ['an executable', 'UNSUPPORTED_MEDIA_TYPE', buildElf()],
      ['Latin-1 bytes', 'UNSUPPORTED_MEDIA_TYPE', Buffer.from([0x63, 0x61, 0x66, 0xe9])],
      ['blank text', 'EMPTY_DOCUMENT', ' \n\u0007\n '],
    ])('refuses %s with DocumentRefusal %s', async (_label, code, data) => {
      await expect(prepare(data, 'x.txt')).rejects.toMatchObject({
        name: 'DocumentRefusal',
        code,
        reason: code,
      });
    });

    it("a parser's text over maxTextChars is refused; a text file is bounded by its size alone", async () => {
      await expect(prepare(html, 'page.html', { maxTextChars: 10 })).rejects.toBeInstanceOf(OutputTooLarge);
      const r = await prepare('plain words '.repeat(200), 'a.txt', { maxTextChars: 10 });
      expect(r.text.length).toBeGreaterThan(10);
    });
  });

  it('an unknown job kind is an error, not a silent empty text', async () => {
    await expect(runJob({ kind: 'rtf', maxTextChars: 10 })).rejects.toThrow('unknown job kind rtf');
  });

  it('knows only its own kinds (pdf, docx) without the registered handler modules', async () => {
    const bare = createJobRunner();
    await expect(bare({ kind: 'html-text', html, maxTextChars: 1000 } as ExtractionJob)).rejects.toThrow(
      'unknown job kind html-text',
    );
    await expect(
      bare({ kind: 'pdf', data: buildPdf(['bare pangolin']), maxTextChars: 1000 } as ExtractionJob),
    ).resolves.toContain('bare pangolin');
  });

  it('a kind registered twice, or a module without extractionJobs, stops the child from starting', () => {
    expect(() => createJobRunner([SEARCH_JOBS, SEARCH_JOBS])).toThrow(
      /extraction job kind (document|html-text) is registered twice/,
    );
    expect(() => createJobRunner([require.resolve('./protocol')])).toThrow(/exports no extractionJobs/);
  });

  it("holds a handler's string answer to maxTextChars, whichever module the kind comes from", async () => {
    await expect(
      runJob({
        kind: 'sitemap',
        xml: '<urlset><loc>https://a.test/x</loc></urlset>',
        maxLinks: 5,
        maxTextChars: 5,
      }),
    ).rejects.toBeInstanceOf(OutputTooLarge);
  });
});
