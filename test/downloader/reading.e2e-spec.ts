import type { ServerResponse } from 'node:http';
import { RunningApp, startApp } from '../support/app';
import { OriginServer } from '../fixtures/origin-server';
import { buildDocx, buildPdf } from '../fixtures/documents/builders';
import { expandingDocx } from '../hostile/payloads';

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

function serve(res: ServerResponse, type: string, body: Buffer | string): void {
  res.writeHead(200, { 'content-type': type });
  res.end(body);
}

/**
 * What a reader of the modern web asks of GET /api/v1/download (issue 24): documents at a URL read as
 * text, a page's metadata, links and images, and pages built by script. A real origin on loopback
 * (DOWNLOAD_ALLOW_PRIVATE=true, as the other functional downloader specs).
 */
describe('Downloader: reading documents and pages (e2e)', () => {
  let origin: OriginServer;
  let app: RunningApp;
  const dl = (url: string, query: string) =>
    app.request(`/api/v1/download?url=${encodeURIComponent(url)}&${query}`);

  beforeAll(async () => {
    origin = await OriginServer.start();
    const pdf = buildPdf(['Quarterly pangolin report', 'Second line of the report']);
    const docx = buildDocx(['A docx about wombats', 'and their burrows']);
    origin.route('/report.pdf', (_req, res) => serve(res, 'application/pdf', pdf));
    // a server that does not say what it serves: the signature decides
    origin.route('/download/report', (_req, res) => serve(res, 'application/octet-stream', pdf));
    origin.route('/notes.docx', (_req, res) => serve(res, DOCX, docx));
    origin.route('/broken.pdf', (_req, res) => serve(res, 'application/pdf', '%PDF-1.7\nnot really a pdf'));
    origin.route('/bomb.docx', (_req, res) => serve(res, DOCX, expandingDocx(64 * 1024 * 1024)));
    app = await startApp({
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      DOWNLOAD_MAX_BYTES: String(4 * 1024 * 1024),
      EXTRACTION_ZIP_MAX_BYTES: String(8 * 1024 * 1024),
      RATE_LIMIT_DOWNLOAD: '10000',
    });
  });
  afterAll(async () => {
    await app?.close();
    await origin?.close();
  });

  describe('a PDF or docx at a URL', () => {
    it('text and markdown are the document text, from the parser children', async () => {
      const text = await dl(`${origin.url}/report.pdf`, 'format=text');
      expect(text.status).toBe(200);
      expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(text.text).toContain('Quarterly pangolin report');
      expect(text.text).toContain('Second line of the report');
      expect(text.headers.get('x-original-content-type')).toBe('application/pdf');
      const md = await dl(`${origin.url}/report.pdf`, 'format=markdown');
      expect(md.status).toBe(200);
      expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(md.text).toContain('Quarterly pangolin report');
    });

    it('a PDF served as application/octet-stream is known by its signature', async () => {
      const res = await dl(`${origin.url}/download/report`, 'format=text');
      expect(res.status).toBe(200);
      expect(res.text).toContain('Quarterly pangolin report');
    });

    it('json carries the text beside the bytes', async () => {
      const res = await dl(`${origin.url}/notes.docx`, 'format=json');
      expect(res.status).toBe(200);
      expect(res.body.contentType).toBe(DOCX);
      expect(res.body.text).toContain('A docx about wombats');
      expect(res.body.text).toContain('and their burrows');
      expect(Buffer.from(res.body.contentBase64, 'base64').subarray(0, 2).toString('latin1')).toBe('PK');
    });

    it('raw still passes the bytes through', async () => {
      const res = await fetch(
        `${app.url}/api/v1/download?url=${encodeURIComponent(`${origin.url}/report.pdf`)}&format=raw`,
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(
        Buffer.from(await res.arrayBuffer())
          .subarray(0, 5)
          .toString('latin1'),
      ).toBe('%PDF-');
    });

    it('an unreadable PDF is 422 EXTRACTION_FAILED with the parser reason', async () => {
      const res = await dl(`${origin.url}/broken.pdf`, 'format=text');
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('EXTRACTION_FAILED');
      expect(res.body.details.reason).toBe('parse_error');
    });

    it('a docx whose zip inflates past the limit is 422 ARCHIVE_REFUSED, as an upload would be', async () => {
      const res = await dl(`${origin.url}/bomb.docx`, 'format=text');
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('ARCHIVE_REFUSED');
      expect(res.body.details.reason).toBe('zip_size');
    });
  });
});
