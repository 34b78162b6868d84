import { RunningApp, startApp } from '../support/app';

/**
 * Issue 20, item 7: a caller's mistake gets an answer that says what to do. Before: curl's `-d` form encoding on
 * a JSON route was "property {…} should not exist" (or a silent 201 when the form had the right keys), a wrong
 * method was 404 ROUTE_NOT_FOUND, an unencoded `url` split into a stray parameter, and class-validator's
 * "must contain at least 1 elements" reached the caller as written.
 */
describe('friendlier mistakes (e2e)', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  const post = (path: string, body: RequestInit['body'], contentType?: string) =>
    app.request(path, { method: 'POST', body, headers: contentType ? { 'content-type': contentType } : {} });

  describe('415 UNSUPPORTED_MEDIA_TYPE naming the expected type', () => {
    it("curl -d's form encoding on a JSON route: refused, never parsed as a form, nothing created", async () => {
      // exactly what `curl -d '{"name":"x1"}' …/stores` sends
      const json = await post('/api/v1/stores', '{"name":"x1"}', 'application/x-www-form-urlencoded');
      expect([json.status, json.body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      expect(json.body.message).toBe(
        'This route takes a JSON body: send it with Content-Type: application/json (got application/x-www-form-urlencoded)',
      );
      expect(json.body.details).toEqual({
        expected: 'application/json',
        received: 'application/x-www-form-urlencoded',
      });
      // a form that happens to carry the right keys (`curl -d name=x2`) is not a store either
      const form = await post('/api/v1/stores', 'name=x2', 'application/x-www-form-urlencoded');
      expect([form.status, form.body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      expect((await app.request('/api/v1/stores/x2')).status).toBe(404);
    });

    it('text/plain (fetch with a string body), no Content-Type, multipart: refused on a JSON route', async () => {
      for (const [body, type, received] of [
        ['{"name":"x3"}', 'text/plain;charset=UTF-8', 'text/plain'],
        ['{"buildingIds":["bld-001"]}', undefined, null],
      ] as const) {
        const res = await app.request('/api/v1/buildings/cache/invalidate', {
          method: 'POST',
          body: type ? body : new Blob([body]), // a Blob without a type: fetch sends no Content-Type
          headers: type ? { 'content-type': type } : {},
        });
        expect([res.status, res.body.code, res.body.details?.received]).toEqual([
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          received,
        ]);
      }
      const multipart = new FormData();
      multipart.append('name', 'x4');
      const res = await app.request('/api/v1/stores', { method: 'POST', body: multipart });
      expect([res.status, res.body.details?.received]).toEqual([415, 'multipart/form-data']);
    });

    it('the upload route names multipart/form-data; JSON with its Content-Type still works on a JSON route', async () => {
      const upload = await post('/api/v1/stores/x5/documents', '{"files":[]}', 'application/json');
      expect([upload.status, upload.body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      expect(upload.body.message).toBe('This route takes a multipart/form-data body (got application/json)');
      const ok = await post('/api/v1/stores', '{"name":"x6"}', 'application/json; charset=utf-8');
      expect(ok.status).toBe(201);
    });
  });

  describe('405 METHOD_NOT_ALLOWED with Allow on a known path', () => {
    it.each([
      ['PUT', '/api/v1/buildings/bld-001', 'GET, HEAD'],
      ['DELETE', '/api/v1/stores', 'GET, HEAD, POST'],
      ['GET', '/api/v1/batch', 'POST'],
      ['POST', '/health/live/', 'GET, HEAD'],
    ])('%s %s → Allow: %s', async (method, path, allow) => {
      const res = await app.request(path, { method });
      expect([res.status, res.body.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
      expect(res.headers.get('allow')).toBe(allow);
      expect(res.body.details).toEqual({ allowed: allow.split(', ') });
      expect(res.body.message).toBe(`${method} is not allowed on ${path}; use ${allow}`);
    });

    it('an unknown path is still 404 ROUTE_NOT_FOUND', async () => {
      const res = await app.request('/api/v1/nothing-here', { method: 'PUT' });
      expect([res.status, res.body.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
      expect(res.headers.get('allow')).toBeNull();
    });
  });

  it('an unencoded url with a query string of its own: the stray parameter says to URL-encode url', async () => {
    const res = await app.request('/api/v1/download?url=http://a.example/?x=1&y=2');
    expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(res.body.details.fields.y).toEqual([
      'y is not a parameter of this route: if it belongs to the query string of url, URL-encode url ' +
        `(e.g. encodeURIComponent, or curl -G --data-urlencode 'url=…'), so that its "&" and "=" stay in it`,
    ]);
    // without a url holding a query, an unknown field is just that
    const other = await post('/api/v1/stores', JSON.stringify({ name: 'x7', extra: 1 }), 'application/json');
    expect(other.body.details.fields).toEqual({ extra: ['extra is not a field this route takes'] });
  });

  it("class-validator's messages read as sentences", async () => {
    const res = await post('/api/v1/buildings/cache/invalidate', '{"buildingIds":[]}', 'application/json');
    expect(res.body.details.fields).toEqual({ buildingIds: ['buildingIds must contain at least 1 entry'] });
    expect(res.body.message).toBe('Invalid request: buildingIds must contain at least 1 entry');
    const empty = await app.request('/api/v1/download?url=');
    expect(empty.body.details.fields.url).toEqual(['url must not be empty']);
    const format = await app.request('/api/v1/download?url=http%3A%2F%2Fa.example%2F&format=gif');
    expect(format.body.details.fields.format[0]).toMatch(/^format must be one of: text, markdown, /);
  });
});
