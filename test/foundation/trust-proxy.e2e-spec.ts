import { RunningApp, startApp } from '../support/app';

const KEY = 'trust-proxy-key-0123456789';
const LIMIT = 3;

/**
 * Issue 20, item 5: the client address is the socket's unless TRUST_PROXY names the proxy a request came
 * through. Before, `trustProxy: true` was hard-coded: after the failed-key limit answered 429, a request
 * with `X-Forwarded-For: 10.9.9.N` got fresh attempts — any caller could pick its own address.
 */
describe('client address and TRUST_PROXY (e2e)', () => {
  /** A request with a wrong key, optionally claiming to come from `forwardedFor`. */
  const wrongKey = (app: RunningApp, forwardedFor?: string) =>
    app.request('/api/v1/buildings/bld-001', {
      headers: {
        'x-api-key': 'not-a-valid-key-at-all',
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      },
    });
  // nestjs-pino keeps one root logger per process (the first app's): Nest Logger lines of every app of this
  // file land in the first app's capture, so the lines are looked for in all of them
  const started: RunningApp[] = [];
  const start = async (env: Record<string, string>): Promise<RunningApp> => {
    const app = await startApp(env);
    started.push(app);
    return app;
  };
  const throttleLines = () =>
    started
      .flatMap((a) => a.logs.lines)
      .filter((l) => typeof l.msg === 'string' && l.msg.includes('passed AUTH_FAILURE_LIMIT'));

  describe('by default (TRUST_PROXY unset)', () => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await start({
        AUTH_API_KEYS: `${KEY}=demo`,
        AUTH_FAILURE_LIMIT: String(LIMIT),
        RATE_LIMIT_ENABLED: 'false',
      });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('a spoofed X-Forwarded-For neither bypasses the failed-key limit nor changes the logged client', async () => {
      for (let i = 0; i < LIMIT; i++) expect((await wrongKey(app, `10.9.9.${i}`)).status).toBe(401);
      const refused = await wrongKey(app);
      expect([refused.status, refused.body.code]).toEqual([429, 'RATE_LIMITED']);
      for (let n = 10; n < 20; n++) {
        const res = await wrongKey(app, `10.9.9.${n}`);
        expect([n, res.status]).toEqual([n, 429]);
      }
      // the one line naming the client that passed the limit names the socket's address
      await new Promise((r) => setImmediate(r));
      const lines = throttleLines();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'warn', client: '127.0.0.1' });
      expect(JSON.stringify(started.flatMap((a) => a.logs.lines))).not.toContain('10.9.9.');
      // a valid key still passes from the same address
      expect((await app.request('/api/v1/buildings/bld-001', { headers: { 'x-api-key': KEY } })).status).toBe(
        200,
      );
    });
  });

  describe.each([
    ['the proxy’s address', '127.0.0.1', '10.9.7'],
    ['a CIDR holding it', '127.0.0.0/8,10.0.0.0/8', '10.9.6'],
    ['a hop count', '1', '10.9.5'],
  ])('with TRUST_PROXY set to %s', (_what, trustProxy, net) => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await start({
        AUTH_API_KEYS: `${KEY}=demo`,
        AUTH_FAILURE_LIMIT: String(LIMIT),
        RATE_LIMIT_ENABLED: 'false',
        TRUST_PROXY: trustProxy,
      });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('X-Forwarded-For from the proxy names the client: each client has its own limit, and the log names it', async () => {
      for (let i = 0; i < LIMIT; i++) expect((await wrongKey(app, `${net}.1`)).status).toBe(401);
      expect((await wrongKey(app, `${net}.1`)).status).toBe(429);
      // another client behind the same proxy is not punished for the first one
      expect((await wrongKey(app, `${net}.2`)).status).toBe(401);
      await new Promise((r) => setImmediate(r));
      expect(throttleLines().filter((l) => String(l.client).startsWith(net))).toEqual([
        expect.objectContaining({ client: `${net}.1` }),
      ]);
    });
  });

  it('per-IP rate limits (auth off) are not reset by a spoofed X-Forwarded-For either', async () => {
    const app = await start({ RATE_LIMIT_DEFAULT: '3' });
    try {
      const statuses: number[] = [];
      for (let n = 0; n < 6; n++)
        statuses.push(
          (await app.request('/api/v1/buildings/bld-001', { headers: { 'x-forwarded-for': `10.9.8.${n}` } }))
            .status,
        );
      expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    } finally {
      await app.close();
    }
  });
});
