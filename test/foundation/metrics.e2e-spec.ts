import { spawnSync } from 'node:child_process';
import { Agent } from 'undici';
import { RunningApp, startApp } from '../support/app';
import { FixtureRoutesModule } from '../support/fixture-routes';

/** Series of the application's own metrics (runtime gauges such as active handles by type move on their own). */
function appSeries(exposition: string): string[] {
  return exposition
    .split('\n')
    .filter((l) => l && !l.startsWith('#') && !/^(process_|nodejs_)/.test(l))
    .map((l) => l.slice(0, l.lastIndexOf(' ')));
}

describe('metrics (real app, real socket)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp({ METRICS_WINDOW_MS: '2000' }, { extraModules: [FixtureRoutesModule] });
  });
  afterAll(() => app.close());

  it('labels HTTP metrics with the route template, recorded with the status actually sent', async () => {
    await app.request('/api/v1/fixture/whoami');
    await app.request('/api/v1/fixture/domain-error');
    const text = (await app.request('/metrics')).text;
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/api\/v1\/fixture\/whoami",status_code="200"\} 1/,
    );
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/api\/v1\/fixture\/domain-error",status_code="404"\} 1/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/api\/v1\/fixture\/whoami",status_code="200"\} 1/,
    );
    expect(text).toMatch(
      /errors_total\{type="not_found",route="\/api\/v1\/fixture\/domain-error",fault="client"\} 1/,
    );
    expect(text).toMatch(/^http_requests_in_flight 1$/m); // the scrape itself
    expect(text).toMatch(/^app_info\{version="[^"]+",node_version="v24\.[^"]+"\} 1$/m);
    for (const name of [
      'system_cpu_usage_percent',
      'system_memory_usage_percent',
      'system_disk_usage_percent',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'db_pool_connections',
      'db_query_duration_seconds_bucket',
    ])
      expect(text).toContain(name);
  });

  it('10,000 requests to random paths add not a single series', async () => {
    await app.request('/no/such/route/warmup'); // the unmatched series exists once
    const before = appSeries((await app.request('/metrics')).text);
    const dispatcher = new Agent({ connections: 32 });
    const total = 10_000;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const res = await fetch(`${app.url}/random/${i}/${Math.random().toString(36).slice(2)}?q=${i}`, {
          dispatcher,
        });
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    await dispatcher.close();
    const after = (await app.request('/metrics')).text;
    expect(appSeries(after)).toEqual(before);
    expect(after).toMatch(/http_requests_total\{method="GET",route="unmatched",status_code="404"\} 10001/);
  }, 60000);

  it('passes promtool check metrics', async () => {
    const text = (await app.request('/metrics')).text;
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (r.error) throw new Error(`promtool not available (install Debian's prometheus): ${r.error.message}`);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('/metrics/performance and /metrics/health-score describe a sliding window, not everything since start', async () => {
    await new Promise((r) => setTimeout(r, 2200)); // start from an empty window
    for (let i = 0; i < 5; i++) await app.request('/api/v1/fixture/boom');
    const perf = (await app.request('/metrics/performance')).body;
    expect(perf.windowMs).toBe(2000);
    expect(perf.routes['GET /api/v1/fixture/boom']).toMatchObject({ count: 5, errors: 5, errorRate: 1 });
    const degraded = (await app.request('/metrics/health-score')).body;
    expect(degraded.score).toBeLessThan(90);
    expect(degraded.factors.errorPenalty).toBeGreaterThan(0);

    await new Promise((r) => setTimeout(r, 2200)); // the window slides past the errors
    const later = (await app.request('/metrics/performance')).body;
    expect(later.routes['GET /api/v1/fixture/boom']).toBeUndefined();
    const healthy = (await app.request('/metrics/health-score')).body;
    expect(healthy).toMatchObject({ score: 100, status: 'healthy' });
  });

  it('/metrics/live reports in-flight requests, connections, event-loop lag and memory', async () => {
    const slow = app.request('/api/v1/fixture/slow?ms=2000');
    let live = (await app.request('/metrics/live')).body;
    for (let i = 0; i < 100 && live.inFlightRequests < 2; i++) {
      await new Promise((r) => setTimeout(r, 10)); // until the slow request has arrived
      live = (await app.request('/metrics/live')).body;
    }
    expect(live.inFlightRequests).toBe(2); // the slow one and this one
    expect(live.connections.http).toBeGreaterThanOrEqual(1);
    expect(live.eventLoopLagMs).toEqual({
      p50: expect.any(Number),
      p99: expect.any(Number),
      max: expect.any(Number),
    });
    expect(live.memoryMb.rss).toBeGreaterThan(0);
    expect(typeof live.concurrency).toBe('object');
    await slow;
  });
});
