// The parsers as the extraction child runs them, called in-process: the pool's specs run the same code in
// child processes (where coverage cannot see it); this one checks each job kind and the text limit directly.
import { buildDocx, buildPdf, buildZip } from '../../../../../test/fixtures/documents/builders';
import { ArchiveRefusal } from '../zip-directory';
import { OutputTooLarge, runJob } from './jobs';
import type { ArchiveLimitsMessage, ExtractionJob } from './protocol';

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
    const job: ExtractionJob = {
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

  it('an unknown job kind is an error, not a silent empty text', async () => {
    await expect(runJob({ kind: 'rtf', maxTextChars: 10 } as unknown as ExtractionJob)).rejects.toThrow(
      'unknown job kind rtf',
    );
  });
});
