import type {
  JobRecord,
  JobStatus,
  JobStore,
  TransitionFields,
  UrlResult,
  WebhookAttempt,
} from './job.types';

/** Jobs in process memory (no Redis): lost on restart, expired after JOB_TTL_MS by a sweep. */
export class MemoryJobStore implements JobStore {
  readonly kind = 'memory' as const;
  private readonly jobs = new Map<string, { job: JobRecord; results: Map<number, UrlResult> }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepEveryMs = 60_000) {
    this.sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    this.sweeper.unref();
  }

  async create(job: JobRecord): Promise<void> {
    this.jobs.set(job.jobId, { job: { ...job }, results: new Map() });
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const entry = this.live(jobId);
    return entry
      ? { ...entry.job, spec: entry.job.spec, webhook: entry.job.webhook && { ...entry.job.webhook } }
      : undefined;
  }

  async transition(
    jobId: string,
    from: readonly JobStatus[],
    to: JobStatus,
    fields: TransitionFields = {},
  ): Promise<boolean> {
    const entry = this.live(jobId);
    if (!entry || !from.includes(entry.job.status)) return false;
    Object.assign(entry.job, { ...fields, status: to });
    return true;
  }

  async setWebhookDone(jobId: string): Promise<void> {
    const entry = this.live(jobId);
    if (entry) entry.job.webhookPending = false;
  }

  async recordWebhookAttempt(jobId: string, a: WebhookAttempt & { counted: boolean }): Promise<void> {
    const entry = this.live(jobId);
    if (!entry) return;
    const before = entry.job.webhook ?? { status: 'pending', attempts: 0 };
    entry.job.webhook = {
      status: a.final ?? 'pending',
      attempts: before.attempts + (a.counted ? 1 : 0),
      ...(a.statusCode !== undefined ? { lastStatusCode: a.statusCode } : {}),
      ...(a.error !== undefined ? { lastError: a.error } : {}),
    };
  }

  async record(jobId: string, index: number, result: UrlResult): Promise<boolean> {
    const entry = this.live(jobId);
    if (!entry || entry.results.has(index)) return false;
    entry.results.set(index, result);
    if (result.success) entry.job.succeeded++;
    else entry.job.failed++;
    return true;
  }

  async progress(jobId: string, fields: { waitingUrls?: number; totalUrls?: number }): Promise<void> {
    const entry = this.live(jobId);
    if (!entry) return;
    if (fields.waitingUrls !== undefined) entry.job.waitingUrls = fields.waitingUrls;
    if (fields.totalUrls !== undefined) entry.job.totalUrls = fields.totalUrls;
  }

  async doneIndices(jobId: string): Promise<Set<number>> {
    return new Set(this.live(jobId)?.results.keys() ?? []);
  }

  async results(jobId: string): Promise<UrlResult[]> {
    const entry = this.live(jobId);
    if (!entry) return [];
    return [...entry.results.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private live(jobId: string): { job: JobRecord; results: Map<number, UrlResult> } | undefined {
    const entry = this.jobs.get(jobId);
    if (entry && entry.job.expiresAt <= Date.now()) {
      this.jobs.delete(jobId);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.jobs) if (entry.job.expiresAt <= now) this.jobs.delete(id);
  }
}
