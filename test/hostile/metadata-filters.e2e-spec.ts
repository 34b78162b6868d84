/**
 * Issue 23, items 1 and 2, hostile side: metadata and filters built to hurt — metadata nested tens of
 * thousands deep, past the field limit, with thousands of keys; filters megabytes long, nested 100,000 deep,
 * with thousands of ORs — each refused with a coded 400 before any SQL or storage, the process live throughout
 * (liveness polled during), nothing stored, and a filter at the bounds still answered 200.
 */
import { TestResponse } from '../support/app';
import { expectSurvived, HOSTILE_TIMEOUT_MS, HostileApp, hostileBackends } from './harness';

jest.setTimeout(HOSTILE_TIMEOUT_MS);

function uploadBody(metadata: string, filename = 'doc.txt'): FormData {
  const f = new FormData();
  f.append('metadata', metadata);
  f.append('files', new Blob([`A short leave document for ${filename} ${Math.random()}`]), filename);
  return f;
}

describe.each(hostileBackends())(
  'hostile metadata and filters on %s (built app in a child process)',
  (backend) => {
    let app: HostileApp;

    beforeAll(async () => {
      app = await HostileApp.start({ backend });
      expect((await app.createStore('meta')).status).toBe(201);
      const ok = await app.tenantRequest('/api/v1/stores/meta/documents', {
        method: 'POST',
        body: uploadBody(JSON.stringify({ 'doc.txt': { tags: ['policy'], n: 1 } })),
      });
      expect(ok.status).toBe(201);
    });
    afterAll(() => app?.stop());

    const documentCount = async () =>
      (await app.tenantRequest('/api/v1/stores/meta')).body.documentCount as number;
    const search = (body: Record<string, unknown>) =>
      app.tenantRequest('/api/v1/search', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ store: 'meta', query: 'leave', ...body }),
      });

    it('refuses deep, oversized and key-flooded metadata with 400 naming the field, storing nothing', async () => {
      const before = await documentCount();
      const manyKeys = JSON.stringify({
        'doc.txt': Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])),
      });
      expect(manyKeys.length).toBeLessThan(64 * 1024);
      const bodies: Array<[string, string, RegExp]> = [
        ['deep', `{"doc.txt": ${'['.repeat(60_000)}`, /nested deeper/],
        [
          'huge',
          JSON.stringify({ 'doc.txt': { s: 'x'.repeat(4 * 1024 * 1024) } }),
          /larger than 65536 bytes/,
        ],
        ['many keys', manyKeys, /at most 32/],
        [
          'long list',
          JSON.stringify({ 'doc.txt': { l: Array.from({ length: 5000 }, () => 'x') } }),
          /at most 100/,
        ],
      ];
      const probe = await app.during(() =>
        Promise.all(
          bodies.flatMap(([, metadata]) =>
            Array.from({ length: 3 }, (_, i) =>
              app.tenantRequest('/api/v1/stores/meta/documents', {
                method: 'POST',
                body: uploadBody(metadata, `f${i}.txt`),
              }),
            ),
          ),
        ),
      );
      probe.value.forEach((res: TestResponse, i) => {
        const [name, , message] = bodies[Math.floor(i / 3)];
        expect([name, res.status, res.body.code]).toEqual([name, 400, 'VALIDATION_FAILED']);
        expect([name, JSON.stringify(res.body.details.fields)]).toEqual([
          name,
          expect.stringMatching(message),
        ]);
        expect(res.body.documents).toBeUndefined();
      });
      await expectSurvived(app, probe);
      expect(await documentCount()).toBe(before);
    });

    it('refuses pathological filters with 400 INVALID_FILTER and the position, before any SQL', async () => {
      const ors = (n: number) => Array.from({ length: n }, (_, i) => `k${i} = v${i}`).join(' OR ');
      const filters: Array<[string, string, RegExp]> = [
        ['1 MB long', `n = 1 OR ${'x'.repeat(1_000_000)}`, /longer than 2000/],
        ['100,000 parentheses', `${'('.repeat(100_000)}n = 1${')'.repeat(100_000)}`, /longer than 2000/],
        ['900 parentheses', `${'('.repeat(900)}n = 1${')'.repeat(900)}`, /nested deeper/],
        ['1,900 NOTs', `${'NOT '.repeat(490)}n = 1`, /nested deeper/],
        ['many ORs', ors(150).slice(0, 2000), /more than 50 conditions/],
        ['long IN', `n IN (${Array.from({ length: 300 }, (_, i) => i).join(',')})`, /at most 100 values/],
        ['garbage', `n = 1 AND ${'#{};'.repeat(100)}`, /unexpected character/],
      ];
      const probe = await app.during(() =>
        Promise.all(
          filters.flatMap(([, filter]) => [
            search({ filter }),
            app.tenantRequest(
              `/api/v1/stores/meta/documents?filter=${encodeURIComponent(filter.slice(0, 4000))}`,
            ),
          ]),
        ),
      );
      probe.value.forEach((res: TestResponse, i) => {
        const [name, , message] = filters[Math.floor(i / 2)];
        expect([name, res.status, res.body.code]).toEqual([name, 400, 'INVALID_FILTER']);
        expect([name, res.body.message]).toEqual([name, expect.stringMatching(message)]);
        expect(res.body.details.position).toEqual(expect.any(Number));
      });
      await expectSurvived(app, probe);
    });

    it('answers a filter at the bounds (50 conditions, a 100-value IN list, 8 levels) with 200', async () => {
      const inList = Array.from({ length: 100 }, (_, i) => `v${i}`).join(',');
      const leaves = [`k IN (${inList})`, ...Array.from({ length: 48 }, (_, i) => `n > ${i}`)];
      let filter = leaves.join(' OR ');
      filter = `${'('.repeat(7)}${filter}${')'.repeat(7)} OR tags = policy`;
      expect(filter.length).toBeLessThanOrEqual(2000);
      const res = await search({ filter, facets: ['tags', 'n', 'type'], sort: 'n:desc' });
      expect([res.status, res.body.total, res.body.message]).toEqual([200, 1, undefined]);
      expect(res.body.facets.tags).toEqual({ policy: 1 });
    });
  },
);
