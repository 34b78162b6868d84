// Issue 23, item 5: spreadsheets (xlsx, ods), presentations (pptx, odp), word-processor text (odt, rtf) and
// e-books (epub) as search uploads — sniffed from their bytes, parsed in the extraction children, stored and
// found — and their refusals, coded as docx's are. One app per database, files built by the test.
import { RunningApp, startApp, TestResponse } from '../support/app';
import { createTestDatabase, DATABASE_ADAPTERS, TestDatabase } from '../support/databases';
import { form } from '../fixtures/documents/builders';
import {
  buildEpub,
  buildOdf,
  buildOdp,
  buildOds,
  buildOdt,
  buildPptx,
  buildRtf,
  buildXlsx,
} from '../fixtures/documents/office';
import { repeatedDeflate, zipArchive } from '../hostile/payloads';

const KEY = 'more-types-key-0123456789';

describe.each(DATABASE_ADAPTERS)('more upload types on %s (real app, parser children)', (adapter) => {
  let db: TestDatabase | undefined;
  let app: RunningApp;
  const ids: Record<string, string> = {};

  const call = (path: string, init: RequestInit = {}): Promise<TestResponse> =>
    app.request(path, {
      ...init,
      headers: { 'X-API-Key': KEY, ...(init.headers as Record<string, string>) },
    });
  const upload = (files: Array<[string, Buffer]>) =>
    call('/api/v1/stores/office/documents', { method: 'POST', body: form(files) });
  const found = async (q: string): Promise<string[]> => {
    const res = await call(`/api/v1/search?store=office&q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(200);
    return res.body.results.map((r: { filename: string }) => r.filename);
  };

  beforeAll(async () => {
    db = adapter === 'postgres' ? await createTestDatabase() : undefined;
    app = await startApp({
      AUTH_API_KEYS: `${KEY}=demo`,
      EXTRACTION_ZIP_MAX_BYTES: String(4 * 1024 * 1024),
      ...(db ? { DATABASE_URL: db.url } : {}),
    });
    const store = await call('/api/v1/stores', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'office' }),
    });
    expect(store.status).toBe(201);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('stores one file of each type under its sniffed content type (names say nothing)', async () => {
    const res = await upload([
      [
        'budget.bin',
        buildXlsx([
          {
            name: 'Quarterly Marzipan',
            rows: [
              ['tangerine', 'ledger'],
              ['total', 42],
            ],
          },
        ]),
      ],
      [
        'census.ods',
        buildOds([
          {
            name: 'Heron Census',
            rows: [
              ['wetland', 'count'],
              ['Okavango', '17'],
            ],
          },
        ]),
      ],
      ['deck.pptx', buildPptx([{ text: ['Gondola roadmap'], notes: ['remember the saxophone budget'] }])],
      ['talk.odp', buildOdp([{ text: ['Lantern festival'], notes: ['thank the origami guild'] }])],
      ['minutes.odt', buildOdt('Minutes', ['The quince committee met on Tuesday.'])],
      ['letter.rtf', buildRtf(['Dear Ms Café, the walrus invoice is attached.'])],
      [
        'novel.epub',
        buildEpub('The Vermilion Kettle', [{ heading: 'One', paragraphs: ['A nebula of porcupines.'] }]),
      ],
    ]);
    expect({ status: res.status, rejected: res.body.rejected }).toEqual({ status: 201, rejected: [] });
    const types = Object.fromEntries(
      res.body.documents.map((d: { filename: string; contentType: string; id: string }) => {
        ids[d.filename] = d.id;
        return [d.filename, d.contentType];
      }),
    );
    expect(types).toEqual({
      'budget.bin': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'census.ods': 'application/vnd.oasis.opendocument.spreadsheet',
      'deck.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
      'talk.odp': 'application/vnd.oasis.opendocument.presentation',
      'minutes.odt': 'application/vnd.oasis.opendocument.text',
      'letter.rtf': 'application/rtf',
      'novel.epub': 'application/epub+zip',
    });
  });

  it('spreadsheets: cells and sheet names are searchable', async () => {
    expect(await found('tangerine ledger')).toEqual(['budget.bin']);
    expect(await found('quarterly marzipan')).toEqual(['budget.bin']);
    expect(await found('heron census okavango')).toEqual(['census.ods']);
  });

  it('presentations: slide text and speaker notes are searchable', async () => {
    expect(await found('gondola roadmap')).toEqual(['deck.pptx']);
    expect(await found('saxophone budget')).toEqual(['deck.pptx']);
    expect(await found('origami guild')).toEqual(['talk.odp']);
  });

  it("documents and e-books: ODT, RTF (its \\'e9 decoded) and the EPUB spine with its title", async () => {
    expect(await found('quince committee')).toEqual(['minutes.odt']);
    expect(await found('walrus invoice café')).toEqual(['letter.rtf']);
    expect(await found('porcupines nebula')).toEqual(['novel.epub']);
    expect(await found('vermilion kettle')).toEqual(['novel.epub']);
    const doc = await call(`/api/v1/stores/office/documents/${ids['letter.rtf']}`);
    expect(doc.status).toBe(200);
  });

  it('refuses hostile ones with the docx codes, from the child, and stays up', async () => {
    const deep = buildOdf('text', '<text:span>'.repeat(10_000));
    const bomb = zipArchive([
      { name: 'mimetype', content: 'application/epub+zip' },
      { name: 'META-INF/container.xml', content: repeatedDeflate('<a>', '<b/>', 512 * 1024, '</a>') },
    ]);
    const res = await upload([
      ['deep.odt', deep],
      ['bomb.epub', bomb],
      ['nested.rtf', Buffer.from(`{\\rtf1 ${'{'.repeat(100_000)}`)],
    ]);
    expect(res.status).toBe(422);
    expect(res.body.rejected).toEqual([
      {
        filename: 'deep.odt',
        code: 'EXTRACTION_FAILED',
        message: expect.stringContaining('nested more than 256 deep'),
        details: { reason: 'parse_error' },
      },
      {
        filename: 'bomb.epub',
        code: 'ARCHIVE_REFUSED',
        message: expect.any(String),
        details: { reason: 'zip_ratio', limit: 100, ratio: expect.any(Number) },
      },
      {
        filename: 'nested.rtf',
        code: 'EXTRACTION_FAILED',
        message: expect.stringContaining('groups are nested more than 256 deep'),
        details: { reason: 'parse_error' },
      },
    ]);
    expect(await found('tangerine')).toEqual(['budget.bin']);
  });
});
