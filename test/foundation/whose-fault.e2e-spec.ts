import { RunningApp, startApp } from '../support/app';
import { FixtureRoutesModule } from '../support/fixture-routes';
import { freePort } from '../support/redis-server';
import { OriginServer } from '../fixtures/origin-server';

/**
 * Issue 20, item 4: error answers carry whose fault they are — `errors_total{fault}` is `atrium`, `dependency`
 * (a store Atrium needs, or the building directory it is configured with), `target` (a caller's URL) or
 * `client` (the caller's request) — and the health score counts only Atrium's and its dependencies'. Before,
 * eleven posts to the unconfigured building webhook (503) took the score from 100 to 40.
 */
describe('whose fault: errors_total{fault} and the health score (e2e)', () => {
  let origin: OriginServer;
  let app: RunningApp;

  beforeAll(async () => {
    origin = await OriginServer.start();
    app = await startApp(
      {
        DOWNLOAD_ALLOW_PRIVATE: 'true',
        DOWNLOAD_RETRIES: '0',
        METRICS_WINDOW_MS: '600000',
        // the directory Atrium is configured with, down: its failures are Atrium's dependency's
        BUILDING_DIRECTORY_URL: `http://127.0.0.1:${await freePort()}`,
        BUILDING_DIRECTORY_RETRIES: '0',
        BUILDING_CACHE_ENABLED: 'false',
        // no BUILDING_DIRECTORY_WEBHOOK_SECRET: the change feed is not enabled
      },
      { extraModules: [FixtureRoutesModule] },
    );
  });
  afterAll(async () => {
    await app?.close();
    await origin?.close();
  });

  /** errors_total samples as {labels → value}, e.g. `type="upstream",route="…",fault="target"`. */
  const errorsTotal = async (): Promise<Map<string, number>> => {
    const text = (await app.request('/metrics')).text;
    return new Map(
      [...text.matchAll(/^errors_total\{([^}]*)\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])] as const),
    );
  };
  const score = async (): Promise<Record<string, any>> => (await app.request('/metrics/health-score')).body; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  /**
   * The errors cost nothing: no error penalty, and the score is what latency alone leaves (a fresh app's first
   * requests on a loaded CI machine can pass the latency thresholds — that is the latency factor's business,
   * not this spec's).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON
  const expectErrorsCostNothing = (s: Record<string, any>): void => {
    expect(s.factors).toMatchObject({ errorRate: 0, errorPenalty: 0 });
    expect(100 - s.score).toBeLessThanOrEqual(Math.ceil(s.factors.latencyPenalty + s.factors.tailPenalty));
  };

  it('posts to the unconfigured building webhook are 404 WEBHOOK_NOT_CONFIGURED, the caller’s, and cost nothing', async () => {
    for (let i = 0; i < 11; i++) {
      const res = await app.request('/api/v1/webhooks/building-directory', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenantId: 'demo', buildingIds: ['bld-001'], event: 'updated' }),
      });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'WEBHOOK_NOT_CONFIGURED' });
      expect(res.body.message).toContain('BUILDING_DIRECTORY_WEBHOOK_SECRET');
    }
    expect(
      (await errorsTotal()).get(
        'type="not_found",route="/api/v1/webhooks/building-directory",fault="client"',
      ),
    ).toBe(11);
    const s = await score();
    expect(s).toMatchObject({ factors: { faults: { client: 11 } } });
    expectErrorsCostNothing(s);
  });

  it("a caller's URL failing is the target's fault: counted as such, and costs nothing", async () => {
    for (const path of ['/status?code=500', '/status?code=404']) {
      const res = await app.request(`/api/v1/download?url=${encodeURIComponent(origin.url + path)}`);
      expect([res.status, res.body.code]).toEqual([502, 'UPSTREAM_ERROR']);
    }
    expect((await errorsTotal()).get('type="upstream",route="/api/v1/download",fault="target"')).toBe(2);
    const s = await score();
    expect(s).toMatchObject({
      factors: { callerOrigins: { requests: 2, failures: 2 }, faults: { target: 2 } },
    });
    expectErrorsCostNothing(s);
  });

  it("the building directory Atrium is configured with failing is a dependency's fault, and costs points", async () => {
    const res = await app.request('/api/v1/buildings/bld-001');
    expect([res.status, res.body.code]).toEqual([502, 'UPSTREAM_ERROR']);
    expect(
      (await errorsTotal()).get('type="upstream",route="/api/v1/buildings/:buildingId",fault="dependency"'),
    ).toBe(1);
    const s = await score();
    expect(s.factors.faults.dependency).toBe(1);
    expect(s.factors.errorPenalty).toBeGreaterThan(0);
    expect(s.score).toBeLessThan(100);
  });

  it("Atrium's own 500 is `atrium`", async () => {
    expect((await app.request('/api/v1/fixture/boom')).status).toBe(500);
    expect((await errorsTotal()).get('type="internal",route="/api/v1/fixture/boom",fault="atrium"')).toBe(1);
    expect((await score()).factors.faults).toEqual({ atrium: 1, dependency: 1, target: 2, client: 11 });
  });
});
