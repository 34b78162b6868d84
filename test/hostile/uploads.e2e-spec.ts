/**
 * Issue 25, items 2 and 4: memory bounded per upload, and body time limits that measure the client.
 *
 * - Many concurrent multi-file requests of large duplicates: files are received, checked and stored one at a
 *   time, a duplicate answered from its checksum before it is extracted, so the API process's peak RSS stays
 *   far below what holding every file's text and chunks took (785 MB for one request of 20 × 20 MiB on the
 *   old code).
 * - The upload memory budget (UPLOAD_MEMORY_BUDGET_MB): past it a request gets 503 CAPACITY_EXCEEDED with
 *   Retry-After before any byte of its body is read (the client here never sends one), and its connection
 *   is closed; what was admitted is finished.
 * - Body timeouts: a slow but steady client finishes however long it takes, a stalled one gets 408
 *   REQUEST_TIMEOUT at BODY_IDLE_TIMEOUT_MS, and the server's own work on an upload (longer than the old
 *   whole-request limit) never turns into a 408. The old limit's variable (BODY_READ_TIMEOUT_MS) is set
 *   too, so that on the code before this change the same tests show the old behaviour failing.
 *
 * Run once, on the embedded default (hostileDefaultBackend): what is proved here is the API process's
 * handling of request bodies and its own memory, which do not depend on where the rows are stored
 * (the database's side of large uploads is database.e2e-spec.ts's, on both backends).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { form } from '../fixtures/documents/builders';
import { until } from '../support/wait';
import {
  expectSurvived,
  HOSTILE_KEYS,
  HOSTILE_TIMEOUT_MS,
  HostileApp,
  hostileDefaultBackend,
  rawHttp,
} from './harness';
import { elementFloodHtml, largeText, VOCABULARY } from './payloads';

jest.setTimeout(HOSTILE_TIMEOUT_MS);

const MiB = 1024 * 1024;

/** Peak resident set of one process since its peak was last reset (`/proc/<pid>/clear_refs` 5), in bytes. */
function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
}

/** Distinct text of about `bytes`: a numbered line of vocabulary words repeated. */
function distinctText(seed: number, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `document ${seed} line ${i} ${VOCABULARY[(seed * 7 + i) % VOCABULARY.length]} ${VOCABULARY[(i * 13) % VOCABULARY.length]} and more words follow here.\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('');
}

/** A multipart body of one file in the field "files", and its Content-Length head for rawHttp. */
function rawUpload(
  store: string,
  tenant: keyof typeof HOSTILE_KEYS,
  contentLength: number,
  filename = 'held.txt',
): { head: string; partHead: string } {
  return {
    head:
      `POST /api/v1/stores/${store}/documents HTTP/1.1\r\nHost: x\r\nX-API-Key: ${HOSTILE_KEYS[tenant]}\r\n` +
      `Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${contentLength}\r\n\r\n`,
    partHead: `--b\r\nContent-Disposition: form-data; name="files"; filename="${filename}"\r\n\r\n`,
  };
}

/** One multipart part (boundary "b") of the field "files". */
function rawPart(filename: string, content: string | Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--b\r\nContent-Disposition: form-data; name="files"; filename="${filename}"\r\n\r\n`),
    Buffer.from(content),
    Buffer.from('\r\n'),
  ]);
}

describe.each(hostileDefaultBackend())('uploads: memory and time limits on %s', (backend) => {
  describe('many concurrent requests of large duplicates (item 2)', () => {
    let app: HostileApp;
    /** the original, stored once; every request then sends COPIES of it */
    const ORIGINAL = largeText(6 * MiB);
    const REQUESTS = 5;
    const COPIES = 16;

    beforeAll(async () => {
      // waits for the budget long enough that every request is served in turn (none refused here)
      app = await HostileApp.start({ backend, env: { UPLOAD_MEMORY_WAIT_MS: '120000' } });
      expect((await app.createStore('dups')).status).toBe(201);
    });
    afterAll(() => app?.stop());

    it('answers every copy with the existing document (outcome unchanged) and keeps the API process far below holding them', async () => {
      const first = await app.tenantRequest('/api/v1/stores/dups/documents', {
        method: 'POST',
        body: form([['original.txt', ORIGINAL]]),
      });
      expect(first.status).toBe(201);
      const originalId = first.body.documents[0].id as string;

      // one Blob shared by every request: the test process holds the bytes once
      const blob = new Blob([ORIGINAL]);
      const request = (r: number) => {
        const f = new FormData();
        f.append('files', new Blob([distinctText(r, 2000)]), `new-${r}.txt`); // stored before the copies
        for (let i = 0; i < COPIES; i++) f.append('files', blob, `copy-${r}-${i}.txt`);
        return app.tenantRequest('/api/v1/stores/dups/documents', { method: 'POST', body: f });
      };
      const before = app.rss().byPid[app.pid]?.rssBytes ?? 0;
      resetPeakRss(app.pid);
      const probe = await app.during(() =>
        Promise.all(Array.from({ length: REQUESTS }, (_, r) => request(r))),
      );
      const peak = peakRss(app.pid);

      for (const [r, res] of probe.value.entries()) {
        expect({ status: res.status, answered: res.body.documents?.length }).toEqual({
          status: 201,
          answered: 1 + COPIES,
        });
        expect(res.body.documents[0]).toMatchObject({ filename: `new-${r}.txt`, outcome: 'created' });
        expect(res.body.rejected).toEqual([]);
        // identical bytes are idempotent (issue 23): each copy is answered with the stored original
        for (const doc of (res.body.documents as Array<Record<string, unknown>>).slice(1))
          expect(doc).toMatchObject({ id: originalId, filename: 'original.txt', outcome: 'unchanged' });
      }
      // Holding the copies' text and chunks (the old code: every file of a request extracted before any was
      // stored) needs REQUESTS × COPIES × ~2.2 × 6 MiB ≈ 1.1 GB on top of the process; one file at a time per
      // admitted request (at most two of one tenant at the default budget) needs a few tens of MB.
      const bound = 640 * MiB;
      // the figures are in the failure message (Jest's output stays its own lines plus failures)
      const rss = { beforeMiB: Math.round(before / MiB), peakMiB: Math.round(peak / MiB) };
      expect({ ...rss, belowBound: rss.peakMiB < bound / MiB }).toEqual({ ...rss, belowBound: true });
      const list = await app.tenantRequest('/api/v1/stores/dups');
      expect(list.body.documentCount).toBe(1 + REQUESTS);
      await expectSurvived(app, probe);
    });
  });

  describe('the upload memory budget and body timeouts (items 2 and 4)', () => {
    let app: HostileApp;
    const IDLE_MS = 3000;

    beforeAll(async () => {
      app = await HostileApp.start({
        backend,
        env: {
          // two reservations of a large upload (5 × 20 MiB each): one per tenant at POOL_TENANT_SHARE 0.5
          UPLOAD_MEMORY_BUDGET_MB: '200',
          UPLOAD_MEMORY_WAIT_MS: '1000',
          BODY_IDLE_TIMEOUT_MS: String(IDLE_MS),
          // the previous code's whole-request limit, the same bound: what it would have cut (and its headers
          // limit under it, which that code required)
          BODY_READ_TIMEOUT_MS: String(IDLE_MS),
          HEADERS_READ_TIMEOUT_MS: String(IDLE_MS),
          // many small chunks: storing an upload takes the server far longer than IDLE_MS
          SEARCH_CHUNK_CHARS: '200',
          SEARCH_CHUNK_OVERLAP_CHARS: '0',
        },
      });
      expect((await app.createStore('budget')).status).toBe(201);
      expect(
        (
          await app.tenantRequest(
            '/api/v1/stores',
            {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ name: 'budget' }),
            },
            'acme',
          )
        ).status,
      ).toBe(201);
    });
    afterAll(() => app?.stop());

    it('refuses a request past the budget with 503 CAPACITY_EXCEEDED and Retry-After before reading its body, then 408s the stalled holders at the idle bound and frees their room', async () => {
      const declared = 30 * MiB;
      const holder = (tenant: keyof typeof HOSTILE_KEYS) => {
        const { head, partHead } = rawUpload('budget', tenant, declared);
        // the head and 64 KiB of the file, then nothing: admitted, it holds its reservation until cut
        return rawHttp(app, [head + partHead, Buffer.alloc(64 * 1024, 'a')], {
          timeoutMs: 20 * IDLE_MS,
        });
      };
      const inUse = () => app.metric('pool_in_use', { pool: 'upload_memory' });
      const demoHolder = holder('demo');
      await until(async () => (await inUse()) >= 100, 30_000, 'the first holder admitted');
      const acmeHolder = holder('acme');
      await until(async () => (await inUse()) >= 200, 30_000, 'the second holder admitted');

      // headers only: the body is never sent, so an answer at all proves it was not waited for
      const { head } = rawUpload('budget', 'demo', declared, 'refused.txt');
      const refused = await rawHttp(app, [head], { timeoutMs: 20 * IDLE_MS });
      expect({ status: refused.status, body: refused.body }).toMatchObject({
        status: 503,
        body: {
          code: 'CAPACITY_EXCEEDED',
          details: { pool: 'upload_memory' },
          requestId: expect.any(String),
        },
      });
      expect(refused.text).toMatch(/\r\nretry-after: \d+\r\n/i);
      expect(refused.text).toMatch(/\r\nconnection: close\r\n/i);
      expect(refused.closedByServer).toBe(true);
      // a small upload of either tenant while the budget is full: refused the same way, nothing stored
      const small = await app.tenantRequest(
        '/api/v1/stores/budget/documents',
        { method: 'POST', body: form([['small.txt', 'a small document']]) },
        'acme',
      );
      expect({ status: small.status, code: small.body.code }).toEqual({
        status: 503,
        code: 'CAPACITY_EXCEEDED',
      });
      expect(small.headers.get('retry-after')).toMatch(/^\d+$/);

      // the holders stalled: 408 REQUEST_TIMEOUT at the idle bound, connection closed, room freed
      for (const res of await Promise.all([demoHolder, acmeHolder])) {
        expect({ status: res.status, body: res.body }).toMatchObject({
          status: 408,
          body: { code: 'REQUEST_TIMEOUT', details: { bodyIdleTimeoutMs: IDLE_MS } },
        });
        expect(res.closedByServer).toBe(true);
      }
      await until(async () => (await inUse()) === 0, 30_000, 'the budget freed');
      const after = await app.tenantRequest(
        '/api/v1/stores/budget/documents',
        { method: 'POST', body: form([['small.txt', 'a small document']]) },
        'acme',
      );
      expect(after.status).toBe(201);
      // nothing of the refused or cut requests was stored
      expect((await app.tenantRequest('/api/v1/stores/budget')).body.documentCount).toBe(0);
      expect((await app.tenantRequest('/api/v1/stores/budget', {}, 'acme')).body.documentCount).toBe(1);
    });

    it('lets a slow but steady client finish, however long past the idle bound the whole body takes', async () => {
      const text = distinctText(1, 96 * 1024);
      const { head, partHead } = rawUpload('budget', 'demo', 0, 'steady.txt');
      const tail = '\r\n--b--\r\n';
      const body = Buffer.from(partHead + text + tail);
      const framed = head
        .replace('Content-Length: 0', `Content-Length: ${body.length}`)
        .replace('Host: x\r\n', 'Host: x\r\nConnection: close\r\n');
      // 4 KiB every 400 ms: ~10 KiB/s, ~10 s in all (over 3× the idle bound and the old whole-request limit)
      const pieces: Buffer[] = [];
      for (let i = 0; i < body.length; i += 4096) pieces.push(body.subarray(i, i + 4096));
      const res = await rawHttp(app, [framed, ...pieces], { gapMs: 400, timeoutMs: 60_000 });
      expect({ status: res.status, body: res.body }).toMatchObject({
        status: 201,
        body: { documents: [{ filename: 'steady.txt' }] },
      });
    });

    it('cuts a client that stops sending mid-body with 408 REQUEST_TIMEOUT at the idle bound', async () => {
      const { head, partHead } = rawUpload('budget', 'demo', 10_000, 'stalled.txt');
      const res = await rawHttp(app, [head + partHead + 'a'.repeat(500)], { timeoutMs: 20 * IDLE_MS });
      expect({ status: res.status, body: res.body }).toMatchObject({
        status: 408,
        body: { code: 'REQUEST_TIMEOUT', details: { bodyIdleTimeoutMs: IDLE_MS } },
      });
      expect(res.closedByServer).toBe(true);
    });

    it('finishes an upload whose handling takes the server far longer than the idle bound while the rest of its body waits (no 408 for its own work)', async () => {
      // Slow to handle: two pages of 300,000 elements to parse, two texts to store in thousands of chunks
      // (SEARCH_CHUNK_CHARS=200); then a 16 MiB part refused by its name alone. The server takes in the body
      // only as fast as it handles the files, so the big part is still arriving long after the request began:
      // the old whole-request limit cut it (408, the work done thrown away); the idle bound does not count
      // while the handler holds the body back, so every file gets its answer.
      const pages = [0, 1].map((i): [string, Buffer] => [
        `flood-${i}.html`,
        Buffer.concat([Buffer.from(`<!-- ${i} -->`), elementFloodHtml(300_000)]),
      ]);
      const texts = [0, 1].map((i): [string, string] => [`work-${i}.txt`, distinctText(100 + i, 256 * 1024)]);
      const held: [string, Buffer] = ['../held-back.txt', Buffer.alloc(16 * MiB, 'a')];
      const files = [...pages, ...texts, held];
      const body = Buffer.concat([
        ...files.map(([name, data]) => rawPart(name, data)),
        Buffer.from('--b--\r\n'),
      ]);
      const { head } = rawUpload('budget', 'demo', body.length);
      const framed = head.replace('Host: x\r\n', 'Host: x\r\nConnection: close\r\n');
      const count = async () =>
        (await app.tenantRequest('/api/v1/stores/budget')).body.documentCount as number;
      const before = await count();
      // does not hang: bounded far above what handling the files takes
      const res = await rawHttp(app, [framed, body], { timeoutMs: 240_000 });
      expect({ status: res.status, code: (res.body as { code?: unknown })?.code }).toEqual({
        status: 201,
        code: undefined,
      });
      const answer = res.body as {
        documents: Array<{ filename: string }>;
        rejected: Array<{ filename: string; code: string }>;
      };
      // every file answered: the texts stored, the held-back part refused for its name, the pages either
      // read or refused by the parser's own limits — none of it thrown away
      expect([...answer.documents, ...answer.rejected].map((f) => f.filename).sort()).toEqual(
        files.map(([name]) => name).sort(),
      );
      expect(answer.documents.map((d) => d.filename)).toEqual(
        expect.arrayContaining(texts.map(([name]) => name)),
      );
      expect(answer.rejected).toContainEqual(
        expect.objectContaining({ filename: held[0], code: 'INVALID_FILENAME' }),
      );
      expect(await count()).toBe(before + answer.documents.length);
    });
  });
});
