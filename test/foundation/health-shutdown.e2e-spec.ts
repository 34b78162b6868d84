import { statfsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { RunningApp, startApp } from '../support/app';
import { ChildApp } from '../support/child-app';
import { createTestDatabase, DATABASE_ADAPTERS, DatabaseAdapter, TestDatabase } from '../support/databases';
import { FixtureRoutesModule } from '../support/fixture-routes';

describe.each(DATABASE_ADAPTERS)('health probes on %s', (adapter: DatabaseAdapter) => {
  let app: RunningApp;
  let pg: TestDatabase | undefined;
  beforeAll(async () => {
    if (adapter === 'postgres') pg = await createTestDatabase();
    app = await startApp({ DATABASE_URL: pg?.url }, { extraModules: [FixtureRoutesModule] });
  });
  afterAll(async () => {
    await app.close();
    await pg?.drop();
  });

  it('/health/live is a plain 200 that checks nothing', async () => {
    const res = await app.request('/health/live');
    expect([res.status, res.body]).toEqual([200, { status: 'ok' }]);
  });

  it('/health/ready checks only the database', async () => {
    const res = await app.request('/health/ready');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.details)).toEqual(['database']);
    expect(res.body.details.database).toMatchObject({ status: 'up', kind: adapter });
  });

  it('/health shows everything', async () => {
    const res = await app.request('/health');
    // every check is reported; the process checks (event-loop lag, heap, disk) depend on the machine, so
    // only the dependencies this app controls must be up
    expect([200, 503]).toContain(res.status);
    for (const name of ['database', 'building_directory', 'search', 'downloader'])
      expect(res.body.details[name]?.status).toBe('up');
    expect(Object.keys(res.body.details)).toEqual(
      expect.arrayContaining([
        'database',
        'memory_heap',
        'disk',
        'event_loop',
        'building_directory',
        'search',
        'downloader',
      ]),
    );
  });

  // the embedded database cannot go away under a running process: Postgres only
  (adapter === 'postgres' ? it : it.skip)(
    'readiness turns 503 when the database stops answering, liveness stays 200',
    async () => {
      await pg!.drop(); // terminates the pool's connections and removes the database
      const ready = await app.request('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.details.database.status).toBe('down');
      expect((await app.request('/health/live')).status).toBe(200);
    },
  );
});

describe('process checks over their thresholds (Terminus memory and disk indicators)', () => {
  let app: RunningApp;
  beforeAll(async () => {
    // the smallest thresholds the configuration allows: this Jest process's heap and the test volume exceed them
    app = await startApp({
      HEALTH_MEMORY_HEAP_MAX_BYTES: String(16 * 1024 ** 2),
      HEALTH_DISK_THRESHOLD: '0.01',
    });
  });
  afterAll(() => app.close());

  it('/health is 503 naming memory_heap and disk down; readiness and liveness do not include them', async () => {
    const s = statfsSync(app.dataDir);
    expect(1 - s.bavail / s.blocks).toBeGreaterThan(0.01);
    const res = await app.request('/health');
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('error');
    expect(Object.keys(res.body.error).sort()).toEqual(['disk', 'memory_heap']);
    expect(res.body.details.memory_heap).toMatchObject({
      status: 'down',
      message: expect.stringContaining('Used heap exceeded the set threshold'),
    });
    expect(res.body.details.disk).toMatchObject({
      status: 'down',
      message: expect.stringContaining('Used disk storage exceeded the set threshold'),
    });
    expect(res.body.details.database.status).toBe('up');
    expect((await app.request('/health/ready')).status).toBe(200);
    expect((await app.request('/health/live')).status).toBe(200);
  });
});

describe('graceful shutdown (in process)', () => {
  it('readiness turns 503 at once, liveness stays 200, an in-flight slow request completes, then the server closes', async () => {
    const app = await startApp({ SHUTDOWN_DRAIN_MS: '600' }, { extraModules: [FixtureRoutesModule] });
    const slow = app.request('/api/v1/fixture/slow?ms=1200');
    await new Promise((r) => setTimeout(r, 100));
    const closing = app.atrium.shutdown('SIGTERM');
    const ready = await app.request('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.shutdown.status).toBe('down');
    expect((await app.request('/health/live')).status).toBe(200);
    const slowRes = await slow;
    expect([slowRes.status, slowRes.body]).toEqual([200, { sleptMs: 1200 }]);
    await closing;
    await expect(fetch(`${app.url}/health/live`)).rejects.toThrow();
    await app.close();
  });
});

describe('the real process', () => {
  it('on SIGTERM: readiness 503 during the drain, liveness 200, in-flight request finishes, exit 0 within SHUTDOWN_TIMEOUT_MS', async () => {
    const child = await ChildApp.spawn({ SHUTDOWN_DRAIN_MS: '1500', SHUTDOWN_TIMEOUT_MS: '8000' });
    try {
      await child.waitReady();
      // an in-flight request on its own connection: /metrics is cheap, so hold a request open by streaming a body slowly
      const inFlight = new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          `${child.url}/health/live`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '2' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.write('{');
        setTimeout(() => req.end('}'), 1000);
      });
      await new Promise((r) => setTimeout(r, 100));
      child.child.kill('SIGTERM');
      // readiness turns 503 once the signal is handled; the server still answers during the 1.5 s drain
      let ready = 200;
      while (ready !== 503) ready = (await fetch(`${child.url}/health/ready`)).status;
      expect((await fetch(`${child.url}/health/live`)).status).toBe(200);
      expect(await inFlight).toBe(405); // answered (POST on the GET-only /health/live), not dropped
      const exit = await child.waitExit();
      // past SHUTDOWN_TIMEOUT_MS the process would exit 1: 0 is the "within the timeout" proof
      expect(exit.code).toBe(0);
      expect(child.log).toContain('SIGTERM received');
    } finally {
      await child.kill();
      child.cleanup();
    }
  }, 120_000); // a hang bound: spawning the built app takes tens of seconds on a busy 2-core machine

  it('refuses to start on bad configuration, naming every bad variable', async () => {
    const child = await ChildApp.spawn({
      PORT: 'abc',
      CACHE_OP_TIMEOUT_MS: '-5',
      AUTH_API_KEYS: 'short=demo',
      REDIS_URL: 'http://nope',
    });
    const exit = await child.waitExit();
    child.cleanup();
    expect(exit.code).toBe(78);
    // one line per variable: the value as given (secrets hidden) and what is allowed
    const lines = child.log.split('\n').filter((l) => l.startsWith('  - '));
    expect(lines.map((l) => l.slice(4).split(':')[0]).sort()).toEqual(
      ['AUTH_API_KEYS', 'CACHE_OP_TIMEOUT_MS', 'PORT', 'REDIS_URL'].sort(),
    );
    expect(child.log).toContain('PORT: got "abc"; allowed: an integer from 0 to 65535');
    expect(child.log).toContain('CACHE_OP_TIMEOUT_MS: got "-5"; allowed: an integer from 1 to 10000');
    expect(child.log).not.toContain('got null');
    expect(child.log).not.toContain('short=demo');
  }, 30000);

  it('refuses to run open in production unless AUTH_DISABLED=true', async () => {
    const child = await ChildApp.spawn({ NODE_ENV: 'production' });
    const exit = await child.waitExit();
    child.cleanup();
    expect(exit.code).toBe(78);
    expect(child.log).toMatch(/AUTH_API_KEYS: required when NODE_ENV=production/);
  }, 30000);
});
