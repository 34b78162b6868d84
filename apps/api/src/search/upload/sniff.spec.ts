import { buildDocx, buildElf, buildPdf, buildZip } from '../../../../../test/fixtures/documents/builders';
import {
  buildEpub,
  buildOdp,
  buildOds,
  buildOdt,
  buildPptx,
  buildRtf,
  buildXlsx,
  zipPackage,
} from '../../../../../test/fixtures/documents/office';
import { classifyText, DOCX_TYPE, PARSED_TYPES, sniffDocument } from './sniff';

describe('sniffDocument', () => {
  it('recognises pdf and docx by their bytes, whatever the name', async () => {
    expect((await sniffDocument(buildPdf(['hi']), 'x.txt')).contentType).toBe('application/pdf');
    expect((await sniffDocument(buildDocx(['hi']), 'x.pdf')).contentType).toBe(DOCX_TYPE);
  });

  it.each([
    ['xlsx', buildXlsx([{ name: 'S', rows: [['a']] }]), 'sheet.txt'],
    ['pptx', buildPptx([{ text: ['a'] }]), 'deck.docx'],
    ['odt', buildOdt('h', ['a']), 'text.zip'],
    ['ods', buildOds([{ name: 'S', rows: [['a']] }]), 'sheet.odt'],
    ['odp', buildOdp([{ text: ['a'] }]), 'talk'],
    ['epub', buildEpub('t', [{ heading: 'h', paragraphs: ['a'] }]), 'book.pdf'],
    ['rtf', buildRtf(['a']), 'letter.txt'],
  ] as const)(
    'recognises %s by its bytes (zip + mimetype / [Content_Types].xml, {\\rtf), whatever the name',
    async (ext, data, name) => {
      expect(await sniffDocument(data, name)).toEqual({ contentType: PARSED_TYPES[ext], binary: true });
    },
  );

  it.each([
    ['a macro-enabled workbook (xlsm)', 'application/vnd.ms-excel.sheet.macroEnabled.main+xml'],
    [
      'a slide show (ppsx)',
      'application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml',
    ],
  ])('refuses %s: only the listed Office types are read', async (_label, main) => {
    const zip = zipPackage([
      {
        name: '[Content_Types].xml',
        content: `<Types><Override PartName="/x/main.xml" ContentType="${main}"/></Types>`,
      },
      { name: 'x/main.xml', content: '<x/>' },
    ]);
    await expect(sniffDocument(zip, 'a.xlsx')).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it.each([
    ['an ELF executable named .txt', buildElf(), 'run.txt'],
    ['a Windows executable named .md', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0)]), 'a.md'],
    ['a plain zip named .docx', buildZip([['readme.txt', 'hello']]), 'a.docx'],
    [
      'an OpenDocument drawing named .odt',
      zipPackage([{ name: 'mimetype', content: 'application/vnd.oasis.opendocument.graphics', store: true }]),
      'a.odt',
    ],
    ['a PNG named .txt', Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex'), 'a.txt'],
    ['Latin-1 bytes', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6e, 0x6f, 0x69, 0x72]), 'a.txt'],
    ['text with NUL bytes', Buffer.from('abc\u0000def'), 'a.txt'],
    ['a shell script', Buffer.from('#!/bin/bash\necho hi\n'), 'a.txt'],
  ])('refuses %s with UNSUPPORTED_MEDIA_TYPE', async (_label, data, name) => {
    await expect(sniffDocument(data, name)).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('decodes UTF-8 text (BOM dropped)', async () => {
    const r = await sniffDocument(Buffer.from('\ufeffcafé au lait'), 'a.txt');
    expect(r).toEqual({ contentType: 'text/plain', binary: false, text: 'café au lait' });
  });
});

describe('classifyText', () => {
  it.each([
    ['{"a": 1}', '.txt', 'application/json'],
    ['[1, 2]', '', 'application/json'],
    ['{not json', '.json', 'text/plain'],
    ['<!DOCTYPE html><html><body>x</body></html>', '.txt', 'text/html'],
    ['<p>fragment</p>', '.html', 'text/html'],
    ['no tags at all', '.html', 'text/plain'],
    ['a,b,c\n1,2,3\n4,5,6\n', '', 'text/csv'],
    ['a;b\n1;2', '.csv', 'text/csv'],
    ['one, two\nthree four five, six, seven', '.csv', 'text/plain'],
    ['# Title\n\nSome [link](http://x).', '', 'text/markdown'],
    ['just words', '.md', 'text/markdown'],
    ['Just a sentence, with a comma.', '.txt', 'text/plain'],
  ])('classifies %p (%s) as %s', (text, ext, type) => {
    expect(classifyText(text, ext)).toBe(type);
  });
});

describe('classifyText on a large text', () => {
  it('judges delimiters from the first lines of a 6 MiB CSV (with a line the 64 KiB sample cuts), and a large prose text as plain', () => {
    const csv =
      'id,name,city\n' +
      Array.from({ length: 200_000 }, (_, i) => `${i},name ${i},city ${i % 50}`).join('\n');
    expect(classifyText(csv, '')).toBe('text/csv');
    const prose = Array.from({ length: 120_000 }, (_, i) =>
      i % 2 ? 'Plain words, with a comma here and there.' : 'A line without one.',
    ).join('\n');
    expect(classifyText(prose, '')).toBe('text/plain');
  });
});
