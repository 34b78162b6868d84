import { RunningApp, startApp } from '../support/app';
import { freePort } from '../support/redis-server';
import { FixtureRoutesModule } from '../support/fixture-routes';
import { OriginServer } from '../fixtures/origin-server';

/**
 * The health score is Atrium's own: what a caller's URL does — its origin answering 404/500, refusing the
 * connection, timing out, or a slow page — is reported apart (`factors.callerOrigins`) and costs nothing,
 * while Atrium's own 5xx still do.
 */
describe('health score: callers’ origins are not Atrium’s failures (e2e)', () => {
  let origin: OriginServer;
  let app: RunningApp;

  beforeAll(async () => {
    origin = await OriginServer.start();
    app = await startApp(
      {
        DOWNLOAD_ALLOW_PRIVATE: 'true',
        DOWNLOAD_RETRIES: '0',
        DOWNLOAD_TIMEOUT_MS: '3000',
        METRICS_WINDOW_MS: '600000',
      },
      { extraModules: [FixtureRoutesModule] },
    );
  });
  afterAll(async () => {
    await app?.close();
    await origin?.close();
  });

  const download = (url: string) => app.request(`/api/v1/download?url=${encodeURIComponent(url)}`);

  it('origin 4xx/5xx, a refused connection, a timeout and a slow page leave the score at 100', async () => {
    const closedPort = await freePort();
    const outcomes = [
      await download(`${origin.url}/status?code=404`),
      await download(`${origin.url}/status?code=500`),
      await download(`http://127.0.0.1:${closedPort}/`),
      await download(`${origin.url}/slow?ms=20000`),
      await download(`${origin.url}/binary.png`), // text of a binary: 422, the origin's content
      await download(`${origin.url}/latency?ms=1500&id=slow-page`), // 200, but slow: the origin's time
    ].map((r) => [r.status, r.body.code ?? 'ok']);
    expect(outcomes).toEqual([
      [502, 'UPSTREAM_ERROR'],
      [502, 'UPSTREAM_ERROR'],
      [502, 'UPSTREAM_ERROR'],
      [504, 'UPSTREAM_TIMEOUT'],
      [422, 'EXTRACTION_FAILED'],
      [200, 'ok'],
    ]);

    const score = (await app.request('/metrics/health-score')).body;
    expect(score).toMatchObject({
      score: 100,
      status: 'healthy',
      factors: {
        requests: 6,
        errorRate: 0,
        errorPenalty: 0,
        latencyPenalty: 0,
        tailPenalty: 0,
        callerOrigins: { requests: 6, failures: 5 },
      },
    });
    expect((await app.request('/metrics')).text).toMatch(/^app_health_score 100$/m);
    // the per-route view still shows what happened on the route
    const perf = (await app.request('/metrics/performance')).body;
    expect(perf.routes['GET /api/v1/download']).toMatchObject({ count: 6, errors: 4 });
  });

  it("Atrium's own 5xx still cost points", async () => {
    for (let i = 0; i < 5; i++) expect((await app.request('/api/v1/fixture/boom')).status).toBe(500);
    const score = (await app.request('/metrics/health-score')).body;
    expect(score.factors.errorPenalty).toBeGreaterThan(0);
    expect(score.score).toBeLessThan(100);
    expect(score.factors.callerOrigins).toEqual({ requests: 6, failures: 5 });
  });
});
