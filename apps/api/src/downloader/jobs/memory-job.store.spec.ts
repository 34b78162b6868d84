import { JobRecord, progressOf } from './job.types';
import { MemoryJobStore } from './memory-job.store';

function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: 'j1',
    tenantId: 'demo',
    status: 'queued',
    totalUrls: 3,
    succeeded: 0,
    failed: 0,
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
    spec: { urls: [], concurrency: 1 },
    webhookPending: false,
    ...overrides,
  };
}

describe('MemoryJobStore', () => {
  let sut: MemoryJobStore;
  beforeEach(() => (sut = new MemoryJobStore()));
  afterEach(() => sut.close());

  it('records each index once and counts it once (a job picked up again cannot duplicate)', async () => {
    await sut.create(job());
    const ok = { url: 'u0', success: true, format: 'text' as const, durationMs: 1 };
    expect(await sut.record('j1', 0, ok)).toBe(true);
    expect(await sut.record('j1', 0, { ...ok, url: 'again' })).toBe(false);
    expect(await sut.record('j1', 2, { ...ok, url: 'u2', success: false })).toBe(true);
    const stored = (await sut.get('j1'))!;
    expect([stored.succeeded, stored.failed, progressOf(stored)]).toEqual([1, 1, 66]);
    expect([...(await sut.doneIndices('j1'))]).toEqual([0, 2]);
    expect((await sut.results('j1')).map((r) => r.url)).toEqual(['u0', 'u2']);
  });

  it('transitions only from the allowed statuses', async () => {
    await sut.create(job());
    expect(await sut.transition('j1', ['queued'], 'running', { startedAt: 1 })).toBe(true);
    expect(await sut.transition('j1', ['queued'], 'cancelled')).toBe(false);
    expect(await sut.transition('j1', ['queued', 'running'], 'cancelled', { finishedAt: 2 })).toBe(true);
    expect(await sut.transition('j1', ['queued', 'running'], 'completed')).toBe(false);
    expect((await sut.get('j1'))!.status).toBe('cancelled');
  });

  it('forgets a job after its expiry', async () => {
    await sut.create(job({ expiresAt: Date.now() - 1 }));
    expect(await sut.get('j1')).toBeUndefined();
  });
});
