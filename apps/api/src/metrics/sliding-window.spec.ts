import { healthScore } from './health-score';
import { HealthStats, SlidingWindow } from './sliding-window';

describe('SlidingWindow', () => {
  let now = 1_000_000;
  const sut = (): SlidingWindow => new SlidingWindow(10_000, 100, () => now);

  it('computes count, error rate and quantiles per route and overall', () => {
    const w = sut();
    for (let i = 1; i <= 100; i++) w.record('GET /a', i, i > 98);
    w.record('GET /b', 5, false);
    const snap = w.snapshot();
    expect(snap.routes['GET /a']).toEqual({
      count: 100,
      errors: 2,
      errorRate: 0.02,
      avgMs: 50.5,
      p50Ms: 50,
      p95Ms: 95,
      p99Ms: 99,
    });
    expect(snap.overall.count).toBe(101);
  });

  it('forgets requests older than the window', () => {
    const w = sut();
    w.record('GET /a', 100, true);
    now += 5_000;
    w.record('GET /a', 1, false);
    expect(w.snapshot().routes['GET /a'].count).toBe(2);
    now += 6_000;
    expect(w.snapshot().routes['GET /a']).toMatchObject({ count: 1, errors: 0, p99Ms: 1 });
    now += 20_000;
    expect(w.snapshot().routes['GET /a']).toBeUndefined();
  });

  it("sees callers' origins apart: their failures are not Atrium's 5xx and their latency is not Atrium's", () => {
    const w = sut();
    for (let i = 0; i < 10; i++) w.record('GET /ours', 10, false);
    w.record('GET /ours', 20, true); // an Atrium 500 (no fault given: a 5xx is Atrium's)
    const byOrigin = { callerOrigin: true, fault: 'target' } as const;
    w.record('GET /download', 30_000, true, byOrigin); // 504 UPSTREAM_TIMEOUT
    w.record('GET /download', 5, true, byOrigin); // 502 UPSTREAM_ERROR: the origin answered 500
    w.record('GET /download', 9_000, false, { callerOrigin: true }); // a slow page, delivered
    w.record('GET /download', 3, true, { callerOrigin: true, fault: 'atrium' }); // 503 PDF_UNAVAILABLE: ours
    w.record('GET /buildings', 2, true, { fault: 'dependency' }); // 502 from the building directory: counts
    w.record('POST /hook', 1, false, { fault: 'client' }); // 404 WEBHOOK_NOT_CONFIGURED: the caller's
    expect(w.health()).toEqual({
      count: 17,
      errors: 3,
      errorRate: 0.18,
      latencySamples: 13,
      p95Ms: 20,
      p99Ms: 20,
      callerOrigin: { requests: 4, failures: 2 },
      faults: { atrium: 1, dependency: 1, target: 2, client: 1 },
    });
    // the per-route view still counts every 5xx
    expect(w.snapshot().routes['GET /download']).toMatchObject({ count: 4, errors: 3 });
  });

  it('holds at most `capacity` samples per route', () => {
    const w = sut();
    for (let i = 0; i < 1000; i++) w.record('GET /a', i, false);
    expect(w.snapshot().routes['GET /a']).toMatchObject({ count: 100, p50Ms: 949 });
  });
});

describe('healthScore', () => {
  const stats = (o: Partial<HealthStats>): HealthStats => ({
    count: 100,
    errors: 0,
    errorRate: 0,
    latencySamples: 100,
    p95Ms: 50,
    p99Ms: 100,
    callerOrigin: { requests: 0, failures: 0 },
    faults: { atrium: 0, dependency: 0, target: 0, client: 0 },
    ...o,
  });

  it('is 100 and healthy with no traffic or fast clean traffic', () => {
    expect(healthScore(stats({ count: 0 }), 1000)).toMatchObject({ score: 100, status: 'healthy' });
    expect(healthScore(stats({}), 1000).score).toBe(100);
  });

  it('applies the documented penalties', () => {
    expect(healthScore(stats({ errorRate: 0.01 }), 1).factors.errorPenalty).toBe(10);
    expect(healthScore(stats({ errorRate: 0.5 }), 1).factors.errorPenalty).toBe(60);
    expect(healthScore(stats({ p95Ms: 750 }), 1).factors.latencyPenalty).toBe(10);
    expect(healthScore(stats({ p95Ms: 10_000 }), 1).factors.latencyPenalty).toBe(30);
    expect(healthScore(stats({ p99Ms: 2_000 }), 1).factors.tailPenalty).toBe(5);
    expect(healthScore(stats({ errorRate: 0.02, p95Ms: 500 }), 1)).toMatchObject({
      score: 75,
      status: 'degraded',
    });
    expect(healthScore(stats({ errorRate: 0.1, p95Ms: 5_000, p99Ms: 9_000 }), 1)).toMatchObject({
      score: 0,
      status: 'unhealthy',
    });
  });
});
