import { Redis } from 'ioredis';
import type {
  JobRecord,
  JobStatus,
  JobStore,
  TransitionFields,
  UrlResult,
  WebhookAttempt,
  WebhookDelivery,
} from './job.types';

// Records a URL result once per index and counts it in the same step (a retried job cannot double count).
const RECORD = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[3], 1)
  redis.call('PEXPIREAT', KEYS[2], redis.call('HGET', KEYS[1], 'expiresAt'))
  return 1
end
return 0`;

// Compare-and-set of the status: ARGV[1] = allowed current statuses (comma-separated), ARGV[2] = new
// status, then field/value pairs.
const TRANSITION = `
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return -1 end
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == current then
    redis.call('HSET', KEYS[1], 'status', ARGV[2])
    for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
    return 1
  end
end
return 0`;

// One webhook attempt on an existing job: ARGV[1] = counted (1|0), ARGV[2] = status, ARGV[3] = last status
// code or '', ARGV[4] = last error or ''. Attempts add up across workers; the last outcome replaces the one before.
const WEBHOOK_ATTEMPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '1' then redis.call('HINCRBY', KEYS[1], 'webhookAttempts', 1) end
redis.call('HSET', KEYS[1], 'webhookStatus', ARGV[2], 'webhookLastStatusCode', ARGV[3], 'webhookLastError', ARGV[4])
return 1`;

/**
 * Jobs in Redis, shared by every replica: a hash per job (status, counters, spec, timestamps) and a
 * hash of per-URL results keyed by index, both expiring at the job's expiresAt (JOB_TTL_MS).
 */
export class RedisJobStore implements JobStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'atrium:batch:',
  ) {}

  private meta(jobId: string): string {
    return `${this.prefix}job:${jobId}`;
  }

  private resultsKey(jobId: string): string {
    return `${this.prefix}job:${jobId}:results`;
  }

  async create(job: JobRecord): Promise<void> {
    const key = this.meta(job.jobId);
    await this.redis
      .multi()
      .hset(key, {
        jobId: job.jobId,
        tenantId: job.tenantId,
        status: job.status,
        totalUrls: job.totalUrls,
        succeeded: 0,
        failed: 0,
        createdAt: job.createdAt,
        expiresAt: job.expiresAt,
        spec: JSON.stringify(job.spec),
        webhookPending: '0',
      })
      .pexpireat(key, job.expiresAt)
      .exec();
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const h = await this.redis.hgetall(this.meta(jobId));
    if (!h.jobId) return undefined;
    const num = (v: string | undefined): number | undefined => (v ? Number(v) : undefined);
    return {
      jobId: h.jobId,
      tenantId: h.tenantId,
      status: h.status as JobStatus,
      totalUrls: Number(h.totalUrls),
      succeeded: Number(h.succeeded),
      failed: Number(h.failed),
      createdAt: Number(h.createdAt),
      startedAt: num(h.startedAt),
      finishedAt: num(h.finishedAt),
      expiresAt: Number(h.expiresAt),
      spec: JSON.parse(h.spec) as JobRecord['spec'],
      webhookPending: h.webhookPending === '1',
      webhookDeliveryId: h.webhookDeliveryId || undefined,
      waitingUrls: h.waitingUrls ? Number(h.waitingUrls) : undefined,
      webhook: h.webhookStatus
        ? {
            status: h.webhookStatus as WebhookDelivery['status'],
            attempts: Number(h.webhookAttempts ?? 0),
            ...(h.webhookLastStatusCode ? { lastStatusCode: Number(h.webhookLastStatusCode) } : {}),
            ...(h.webhookLastError ? { lastError: h.webhookLastError } : {}),
          }
        : undefined,
    };
  }

  async recordWebhookAttempt(jobId: string, a: WebhookAttempt & { counted: boolean }): Promise<void> {
    await this.redis.eval(
      WEBHOOK_ATTEMPT,
      1,
      this.meta(jobId),
      a.counted ? '1' : '0',
      a.final ?? 'pending',
      a.statusCode === undefined ? '' : String(a.statusCode),
      a.error ?? '',
    );
  }

  async transition(
    jobId: string,
    from: readonly JobStatus[],
    to: JobStatus,
    fields: TransitionFields = {},
  ): Promise<boolean> {
    const args: string[] = [from.join(','), to];
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      args.push(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    }
    const done = (await this.redis.eval(TRANSITION, 1, this.meta(jobId), ...args)) as number;
    return done === 1;
  }

  async setWebhookDone(jobId: string): Promise<void> {
    // HSET only on an existing job (an expired one must not be recreated without a TTL)
    await this.redis.eval(
      `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'webhookPending', '0') end return 0`,
      1,
      this.meta(jobId),
    );
  }

  async record(jobId: string, index: number, result: UrlResult): Promise<boolean> {
    const stored = (await this.redis.eval(
      RECORD,
      2,
      this.meta(jobId),
      this.resultsKey(jobId),
      String(index),
      JSON.stringify(result),
      result.success ? 'succeeded' : 'failed',
    )) as number;
    return stored === 1;
  }

  async progress(jobId: string, fields: { waitingUrls?: number; totalUrls?: number }): Promise<void> {
    const args: string[] = [];
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) args.push(k, String(v));
    if (args.length === 0) return;
    // only on an existing job (an expired one must not be recreated without a TTL)
    await this.redis.eval(
      `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], unpack(ARGV)) end return 0`,
      1,
      this.meta(jobId),
      ...args,
    );
  }

  async doneIndices(jobId: string): Promise<Set<number>> {
    const keys = await this.redis.hkeys(this.resultsKey(jobId));
    return new Set(keys.map(Number));
  }

  async results(jobId: string): Promise<UrlResult[]> {
    const all = await this.redis.hgetall(this.resultsKey(jobId));
    return Object.entries(all)
      .map(([i, json]) => [Number(i), JSON.parse(json) as UrlResult] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, r]) => r);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
