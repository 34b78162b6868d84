// The served OpenAPI document (/docs-json) describes auth as the guard applies it (issue 13): both schemes
// the guard accepts, `security` on every protected operation (so Swagger UI's Authorize sends the key) and
// the X-Tenant-ID header on each; public operations carry neither. Each operation's claim is checked
// against the running app, and a request built from the document the way Swagger UI builds it succeeds.
import { RunningApp, startApp } from '../support/app';

const KEY_DEMO = 'openapi-demo-key-0123456789';
const KEY_ALL = 'openapi-star-key-0123456789';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an OpenAPI document of arbitrary shape
type Doc = Record<string, any>;
interface Operation {
  method: (typeof METHODS)[number];
  path: string;
  op: Doc;
}

describe('OpenAPI document: auth and tenant', () => {
  let app: RunningApp;
  let doc: Doc;
  let operations: Operation[];

  beforeAll(async () => {
    app = await startApp({
      AUTH_API_KEYS: `${KEY_DEMO}=demo,${KEY_ALL}=*`,
      // every operation is called once without a key below: not a brute-force attempt
      AUTH_FAILURE_LIMIT: '1000',
    });
    const res = await app.request('/docs-json');
    expect(res.status).toBe(200);
    doc = res.body;
    operations = Object.entries<Doc>(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] })),
    );
  });
  afterAll(async () => {
    await app?.close();
  });

  const isPublicPath = (path: string): boolean =>
    !path.startsWith('/api/v1/') || path.startsWith('/api/v1/webhooks/');
  const tenantHeader = (op: Doc): Doc | undefined =>
    (op.parameters ?? []).find((p: Doc) => p.in === 'header' && p.name === 'X-Tenant-ID');

  it('declares both schemes the auth guard accepts: X-API-Key and Authorization: Bearer', () => {
    expect(doc.components.securitySchemes).toEqual({
      'api-key': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
  });

  it('every tenant-scoped operation requires either scheme and documents X-Tenant-ID; public ones neither', () => {
    const protectedOps = operations.filter((o) => !isPublicPath(o.path));
    const publicOps = operations.filter((o) => isPublicPath(o.path));
    expect(protectedOps.length).toBeGreaterThan(15);
    expect(publicOps.map((o) => o.path)).toEqual(
      expect.arrayContaining(['/health/live', '/metrics/live', '/api/v1/webhooks/building-directory']),
    );
    for (const { method, path, op } of protectedOps) {
      expect([method, path, op.security]).toEqual([method, path, [{ 'api-key': [] }, { bearer: [] }]]);
      expect([method, path, tenantHeader(op)]).toEqual([
        method,
        path,
        expect.objectContaining({ required: false, schema: expect.objectContaining({ type: 'string' }) }),
      ]);
    }
    for (const { method, path, op } of publicOps) {
      expect([method, path, op.security, tenantHeader(op)]).toEqual([method, path, [], undefined]);
    }
    // the marker the document is built from does not leak into what is served
    expect(JSON.stringify(doc)).not.toContain('x-atrium-public');
  });

  it("each operation's security matches the running app: without a key, protected ones answer 401", async () => {
    for (const { method, path, op } of operations) {
      const url = path.replace(/\{[^}]+\}/g, 'x');
      const res = await app.request(url, { method: method.toUpperCase() });
      const unauthenticated = res.status === 401 && res.body?.code === 'UNAUTHENTICATED';
      expect([method, path, unauthenticated]).toEqual([method, path, op.security.length > 0]);
    }
  });

  it('a request built from the document as Swagger UI builds it (each scheme, X-Tenant-ID) is served', async () => {
    const op: Doc = doc.paths['/api/v1/buildings/{buildingId}'].get;
    const schemes = doc.components.securitySchemes;
    const header = tenantHeader(op)!;
    for (const requirement of op.security as Doc[]) {
      const scheme = schemes[Object.keys(requirement)[0]];
      const auth: Record<string, string> =
        scheme.type === 'apiKey' ? { [scheme.name]: KEY_ALL } : { Authorization: `Bearer ${KEY_ALL}` };
      const res = await app.request('/api/v1/buildings/bld-001', {
        headers: { ...auth, [header.name]: 'acme' },
      });
      expect([scheme.type, res.status, res.body.name]).toEqual([scheme.type, 200, 'Acme Headquarters']);
    }
    // the `*` key without the header: the tenant is required, as the parameter's description says
    const res = await app.request('/api/v1/buildings/bld-001', { headers: { 'X-API-Key': KEY_ALL } });
    expect(res.status).toBe(400);
    expect(header.description).toMatch(/Required with a `\*` key/);
  });

  it('describes the store routes of issue 23: replace in place (multipart), settings (JSON) and stats', () => {
    const replace = doc.paths['/api/v1/stores/{store}/documents/{id}'].put;
    expect(replace.requestBody.content['multipart/form-data'].schema.properties.files).toBeDefined();
    expect(Object.keys(replace.responses)).toEqual(expect.arrayContaining(['200', '404']));
    const upload = doc.paths['/api/v1/stores/{store}/documents'].post;
    expect(upload.requestBody.content['multipart/form-data'].schema.properties.externalId).toMatchObject({
      type: 'string',
      maxLength: 256,
    });
    const settings = doc.paths['/api/v1/stores/{store}/settings'];
    expect(settings.get).toBeDefined();
    expect(
      Object.keys(settings.put.requestBody.content['application/json'].schema.properties).sort(),
    ).toEqual(['stopWords', 'synonymGroups', 'synonyms']);
    expect(Object.keys(settings.put.responses)).toEqual(expect.arrayContaining(['200', '400', '404']));
    expect(doc.paths['/api/v1/stores/{store}/stats'].get.responses['200'].description).toContain(
      'byContentType',
    );
  });

  it('Swagger UI keeps the authorization across reloads', async () => {
    const res = await app.request('/docs/swagger-ui-init.js');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/"persistAuthorization":\s*true/);
  });
});
