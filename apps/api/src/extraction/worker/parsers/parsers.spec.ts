// The issue-23 upload types as the extraction child reads them, in-process (the child runs this same code;
// coverage cannot follow it there): real files built by test/fixtures/documents/office.ts, through the
// whole `document` job (sniff, parse, normalise, chunk), and hostile ones (nesting, tables, bombs).
import { type Deflated, repeatedDeflate, zipArchive } from '../../../../../../test/hostile/payloads';
import {
  buildEpub,
  buildOdf,
  buildOdp,
  buildOds,
  buildOdt,
  buildPptx,
  buildRtf,
  buildXlsx,
  zipPackage,
} from '../../../../../../test/fixtures/documents/office';
import { PARSED_TYPES } from '../../../search/upload/sniff';
import { ArchiveRefusal } from '../../zip-directory';
import type { DocumentJob, PreparedDocument } from '../../../search/upload/search.extraction-jobs';
import { createJobRunner, OutputTooLarge } from '../jobs';
import type { ArchiveLimitsMessage } from '../protocol';
import { MORE_DOCUMENT_TYPES } from '.';
import { DocumentFormatError, MAX_XML_DEPTH } from './package';
import { MAX_RTF_DEPTH, rtfText } from './rtf';

const archive: ArchiveLimitsMessage = {
  maxEntries: 100,
  maxUncompressedBytes: 8 * 1024 * 1024,
  maxRatio: 100,
};
const MiB = 1024 * 1024;

// the document job as the child runs it: search's handler module, registered by path
const runJob = createJobRunner([require.resolve('../../../search/upload/search.extraction-jobs')]);
const prepare = (data: Buffer, filename: string, over: Partial<DocumentJob> = {}) =>
  runJob({
    kind: 'document',
    data,
    filename,
    archive,
    maxTextChars: 100_000,
    chunkChars: 1000,
    chunkOverlapChars: 100,
    ...over,
  }) as Promise<PreparedDocument>;

describe('the issue-23 document types, through the document job', () => {
  it('xlsx: sheet names kept, shared and inline strings, numbers, booleans, formula results (not formulas)', async () => {
    const xlsx = buildXlsx([
      {
        name: 'Inventory 2026',
        rows: [
          ['Animal', 'Count', 'Endangered'],
          ['pangolin', 12, true],
          [{ inline: 'aardvark & co' }, 3.5, false],
          ['total', { formula: 'SUM(B2:B3)', value: '15.5' }],
        ],
      },
      { name: 'Notes', rows: [['keratin scales'], ['pangolin']] },
    ]);
    const r = await prepare(xlsx, 'stock.bin');
    expect(r.contentType).toBe(PARSED_TYPES.xlsx);
    expect(r.text).toBe(
      'Inventory 2026\nAnimal\tCount\tEndangered\npangolin\t12\tTRUE\naardvark & co\t3.5\tFALSE\ntotal\t15.5\n\n' +
        'Notes\nkeratin scales\npangolin',
    );
    expect(r.text).not.toContain('SUM(');
    expect(r.ranges.length).toBeGreaterThan(0);
  });

  it('pptx: slides in presentation order (not part order), each with its notes, the notes page number left out', async () => {
    const pptx = buildPptx([
      { text: ['Pangolins', 'Scaly anteaters of Africa and Asia'], notes: ['Mention the keratin'] },
      { text: ['Diet'], notes: ['Ants and termites only'] },
      { text: ['Questions?'] },
    ]);
    const r = await prepare(pptx, 'deck.pptx');
    expect(r.contentType).toBe(PARSED_TYPES.pptx);
    expect(r.text).toBe(
      'Pangolins\nScaly anteaters of Africa and Asia\nMention the keratin\n\nDiet\nAnts and termites only\n\nQuestions?',
    );
  });

  it('odt: heading and paragraphs, spaces/tabs/breaks as written, tracked deletions left out', async () => {
    const odt = buildOdt('Field notes', ['The pangolin eats ants.', 'It rolls into a ball.']);
    const r = await prepare(odt, 'notes.odt');
    expect(r.contentType).toBe(PARSED_TYPES.odt);
    expect(r.text).toBe('Field notes\nThe pangolin eats ants.\nIt rolls into a ball.');
    const rich = buildOdf(
      'text',
      '<text:tracked-changes><text:changed-region><text:deletion><text:p>deleted words</text:p></text:deletion></text:changed-region></text:tracked-changes>' +
        '<text:p>one<text:s text:c="3"/>two<text:tab/>three<text:line-break/>four <text:span>span</text:span></text:p>',
    );
    expect((await prepare(rich, 'rich.odt')).text).toBe('one two\tthree\nfour span');
    const footnote = buildOdf(
      'text',
      '<text:p>Main text<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation>' +
        '<text:note-body><text:p>The footnote.</text:p></text:note-body></text:note> goes on.</text:p>',
    );
    expect((await prepare(footnote, 'foot.odt')).text).toBe('Main text\nThe footnote.\n goes on.');
  });

  it('ods: sheet names kept, rows as tab-separated cells', async () => {
    const ods = buildOds([
      {
        name: 'Sightings',
        rows: [
          ['Place', 'Animal'],
          ['Kruger', 'pangolin'],
        ],
      },
      { name: 'Empty', rows: [] },
    ]);
    const r = await prepare(ods, 'sightings.ods');
    expect(r.contentType).toBe(PARSED_TYPES.ods);
    expect(r.text).toBe('Sightings\nPlace\tAnimal\nKruger\tpangolin\n\nEmpty');
  });

  it('odp: each slide with its notes, slides apart', async () => {
    const odp = buildOdp([
      { text: ['Pangolins', 'Protected species'], notes: ['Say hello'] },
      { text: ['Thanks'] },
    ]);
    const r = await prepare(odp, 'talk.odp');
    expect(r.contentType).toBe(PARSED_TYPES.odp);
    expect(r.text).toBe('Pangolins\nProtected species\nSay hello\n\nThanks');
  });

  it('epub: the title, then the spine’s chapters in reading order through the HTML text path (styles left out)', async () => {
    const epub = buildEpub('The Pangolin Book', [
      { heading: 'Chapter One', paragraphs: ['Pangolins have scales.'] },
      { heading: 'Chapter Two', paragraphs: ['They eat ants & termites.'] },
    ]);
    const r = await prepare(epub, 'book.epub');
    expect(r.contentType).toBe(PARSED_TYPES.epub);
    expect(r.text).toMatch(
      /^The Pangolin Book\n\nChapter One\n+Pangolins have scales\.\n+Chapter Two\n+They eat ants & termites\.$/,
    );
    expect(r.text).not.toContain('margin');
  });

  it("rtf: the text, with tables, info, generator and fonts skipped; \\'hh and \\uN decoded; escapes kept", async () => {
    const rtf = buildRtf(['Café {braces} and a back\\slash', 'Ελληνικά and 😀 too']);
    const r = await prepare(rtf, 'letter.rtf');
    expect(r.contentType).toBe(PARSED_TYPES.rtf);
    expect(r.text).toBe('Café {braces} and a back\\slash\nΕλληνικά and 😀 too');
    for (const hidden of ['Times New Roman', 'Secret Title', 'Normal', 'generator', 'red255'])
      expect(r.text).not.toContain(hidden);
  });

  it('xlsx: phonetic guides, formulas without a value and empty cells are not text; errors are', async () => {
    const sheet =
      '<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><r><t>東京</t></r><rPh sb="0" eb="2"><t>トウキョウ</t></rPh></is></c>' +
      '<c r="B1" t="e"><v>#N/A</v></c><c r="C1"><f>A1</f></c><c r="D1" t="s"><v>99</v></c><c r="E1" t="b"><v>0</v></c></row>' +
      '<row r="2"><c r="A2"/></row></sheetData></worksheet>';
    const r = await prepare(buildXlsx([{ name: 'Tokyo', rows: [] }], { rawSheet: sheet }), 'tokyo.xlsx');
    expect(r.text).toBe('Tokyo\n東京\t#N/A\tFALSE');
  });

  it("rtf: a double-byte code page (\\ansicpg932) decodes \\'hh pairs; \\uc0 and \\uc1 fallbacks are honoured", () => {
    const sjis = Buffer.from(
      "{\\rtf1\\ansi\\ansicpg932 \\'93\\'fa\\'96\\'7b \\uc0\\u26085 x {\\uc1\\u26412\\'96 y}}",
      'latin1',
    );
    expect(rtfText(sjis, 100)).toBe('日本 日x 本 y');
  });

  it('rtf: fields show their result, not their instruction; \\bin data and unknown \\* destinations are skipped', () => {
    const rtf = Buffer.from(
      '{\\rtf1\\ansi{\\field{\\*\\fldinst HYPERLINK "http://x"}{\\fldrslt the link}}\\par' +
        '{\\*\\unknowndest hidden}{\\pict\\bin4 \x00\x01{}\x02} after\\tab x\\emdash y\\~z\\line' +
        "\\uc2\\u8364\\'80\\'80 euro}",
      'latin1',
    );
    expect(rtfText(rtf, 1000)).toBe('the link\n after\tx\u2014y\u00a0z\n\u20ac euro');
  });
});

it('reads exactly the parsed types sniff.ts accepts beyond pdf and docx', () => {
  const { pdf, docx, ...more } = PARSED_TYPES;
  expect([pdf, docx]).toHaveLength(2);
  expect(more).toEqual(MORE_DOCUMENT_TYPES);
});

describe('refusals (coded, never a crash)', () => {
  it('an OpenDocument type that is not accepted (a drawing) is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const odg = zipPackage([
      { name: 'mimetype', content: 'application/vnd.oasis.opendocument.graphics', store: true },
      { name: 'content.xml', content: '<x/>' },
    ]);
    await expect(prepare(odg, 'drawing.odt')).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('a package without the part its format needs is a DocumentFormatError (422 parse_error)', async () => {
    const broken = zipPackage([
      { name: 'mimetype', content: 'application/vnd.oasis.opendocument.text', store: true },
      { name: 'META-INF/manifest.xml', content: '<manifest/>' },
    ]);
    await expect(prepare(broken, 'broken.odt')).rejects.toBeInstanceOf(DocumentFormatError);
    const epub = zipPackage([
      { name: 'mimetype', content: 'application/epub+zip', store: true },
      { name: 'META-INF/container.xml', content: '<container><rootfiles/></container>' },
    ]);
    await expect(prepare(epub, 'broken.epub')).rejects.toThrow('the container names no package document');
  });

  it(`XML nested past ${MAX_XML_DEPTH} elements is refused while streaming (100,000 levels, no stack overflow)`, async () => {
    const deep = `<sheetData>${'<x>'.repeat(100_000)}${'</x>'.repeat(100_000)}</sheetData>`;
    const xlsx = buildXlsx([{ name: 'S', rows: [] }], { rawSheet: deep });
    const err = await prepare(xlsx, 'deep.xlsx').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DocumentFormatError);
    expect((err as Error).message).toMatch(/nested more than 256 deep in "xl\/worksheets\/sheet1\.xml"/);
    const odt = buildOdf('text', '<text:span>'.repeat(50_000));
    await expect(prepare(odt, 'deep.odt')).rejects.toBeInstanceOf(DocumentFormatError);
    // an EPUB chapter too, before the HTML text path builds its DOM
    const nested = buildEpub('Deep', [{ heading: 'x', paragraphs: [], body: '<div>'.repeat(100_000) }]);
    await expect(prepare(nested, 'deep.epub')).rejects.toThrow(
      /nested more than 256 deep in "OEBPS\/text\/chapter-1\.xhtml"/,
    );
  });

  it(`RTF groups nested past ${MAX_RTF_DEPTH} are refused: a 1 MiB {{{{… file, and stray closing braces are harmless`, async () => {
    const deep = Buffer.concat([Buffer.from('{\\rtf1 '), Buffer.alloc(MiB, '{')]);
    await expect(prepare(deep, 'deep.rtf')).rejects.toThrow(
      `groups are nested more than ${MAX_RTF_DEPTH} deep`,
    );
    const nested = `{\\rtf1 ${'{'.repeat(MAX_RTF_DEPTH - 1)}deep text${'}'.repeat(MAX_RTF_DEPTH - 1)}}}}}} after}`;
    expect(rtfText(Buffer.from(nested), 100)).toBe('deep text after');
  });

  it('a shared-strings table past the text limit is refused while it is read, before any sheet', async () => {
    const strings = Array.from({ length: 20_000 }, (_, i) => `unused string number ${i}`);
    const xlsx = buildXlsx([{ name: 'S', rows: [['x']] }], { sharedStrings: strings });
    await expect(prepare(xlsx, 'table.xlsx', { maxTextChars: 100_000 })).rejects.toMatchObject({
      name: 'OutputTooLarge',
      reason: 'text_too_large',
    });
    // the same file under a limit it fits is read
    expect((await prepare(xlsx, 'table.xlsx', { maxTextChars: 1_000_000 })).text).toBe('S\nx');
  });

  it('one long string referenced by every cell is refused at the limit, not multiplied', async () => {
    const long = 'pangolin '.repeat(1000);
    const rows = Array.from({ length: 200 }, () => Array.from({ length: 5 }, () => long));
    const err = await prepare(buildXlsx([{ name: 'S', rows }]), 'refs.xlsx').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputTooLarge);
    const pptx = buildPptx([{ text: ['x'.repeat(200_000)] }]);
    await expect(prepare(pptx, 'long.pptx')).rejects.toBeInstanceOf(OutputTooLarge);
    await expect(prepare(buildRtf(['y'.repeat(200_000)]), 'long.rtf')).rejects.toBeInstanceOf(OutputTooLarge);
  });

  describe.each(['xlsx', 'ods', 'epub'])('zip bombs as .%s', (ext) => {
    const build = (body: Deflated, declaredSize?: number): Buffer => bombPackage(ext, body, declaredSize);
    it('by ratio: refused from the directory (zip_ratio)', async () => {
      const bomb = build(repeatedDeflate('<a>', '<b/>', MiB, '</a>'));
      await expect(prepare(bomb, `bomb.${ext}`)).rejects.toMatchObject({
        name: 'ArchiveRefusal',
        reason: 'zip_ratio',
      });
    });
    it('by declared size: refused from the directory (zip_size)', async () => {
      const big = build(repeatedDeflate('<a>', 'varied text 0123456789 ', 500_000, '</a>'));
      const err = await prepare(big, `big.${ext}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArchiveRefusal);
      expect(err).toMatchObject({ reason: 'zip_size', details: { limit: 8 * MiB } });
    });
    it('by a lying declared size: counted while inflating (zip_size)', async () => {
      const liar = build(
        repeatedDeflate('<a>', 'varied text 0123456789 ', 500_000, '</a>', { crc: false }),
        4096,
      );
      await expect(prepare(liar, `liar.${ext}`)).rejects.toMatchObject({
        name: 'ArchiveRefusal',
        reason: 'zip_size',
        details: { declared: 4096 },
      });
    });
  });
});

/** A package sniffed as `ext` whose first XML part is `body`, optionally declaring another size than its own. */
function bombPackage(ext: string, body: Deflated, declaredSize?: number): Buffer {
  const part = { content: body, declaredSize };
  if (ext === 'xlsx') {
    return zipArchive([
      {
        name: '[Content_Types].xml',
        content:
          '<Types><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
      },
      { name: 'xl/workbook.xml', ...part },
    ]);
  }
  const mimetype = ext === 'ods' ? 'application/vnd.oasis.opendocument.spreadsheet' : 'application/epub+zip';
  return zipArchive([
    { name: 'mimetype', content: mimetype },
    { name: ext === 'ods' ? 'content.xml' : 'META-INF/container.xml', ...part },
  ]);
}
