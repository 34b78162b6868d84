// Issue 25, item 3: downloads are shared fairly between tenants — the download slots (a FairPool, each
// tenant capped at POOL_TENANT_SHARE) and the connections to an origin (each tenant has its own). One
// tenant's slow downloads from a host, as many as its share allows, must not make another tenant's download
// from the same host wait for them. The proof is an order of completions, never a duration.
import { RunningApp, startApp, TestResponse } from '../support/app';
import { OriginServer } from '../fixtures/origin-server';

const SLOW_MS = 5000;

describe('Downloader: fair shares of the download slots and of the connections to an origin (e2e)', () => {
  let origin: OriginServer;
  let app: RunningApp;

  beforeAll(async () => {
    origin = await OriginServer.start();
    // every request goes to one loopback host: per-host politeness is lifted to test the download pool
    app = await startApp({
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      RATE_LIMIT_DOWNLOAD: '100000',
      DOWNLOAD_HOST_CONCURRENCY: '100',
    });
  });
  afterAll(async () => {
    await app?.close();
    await origin?.close();
  });

  const download = async (
    tenant: string,
    id: string,
    ms: number,
  ): Promise<{ res: TestResponse; at: number }> => {
    const url = `${origin.url}/latency?ms=${ms}&id=${id}`;
    const res = await app.request(`/api/v1/download?format=raw&url=${encodeURIComponent(url)}`, {
      headers: { 'x-tenant-id': tenant },
    });
    return { res, at: performance.now() };
  };

  it("another tenant's instant download from the same host is answered before any of one tenant's 24 slow ones", async () => {
    // 24 > the 16 download slots one tenant may hold of 32, and > the 16 connections an agent opens to a host
    const heavy = Array.from({ length: 24 }, (_, i) => download('acme', `slow-${i}`, SLOW_MS));
    await new Promise((r) => setTimeout(r, 500));
    const quiet = await download('demo', 'instant', 1);
    const done = await Promise.all(heavy);
    expect({ status: quiet.res.status, body: quiet.res.text }).toEqual({ status: 200, body: 'item instant' });
    expect(done.every((d) => d.res.status === 200)).toBe(true);
    expect(quiet.at).toBeLessThan(Math.min(...done.map((d) => d.at)));
    // acme held at most its share of the slots at once
    expect(origin.latencyPeak).toBeLessThanOrEqual(17); // 16 of acme's + demo's own
  });
});
