/** Where batch jobs and their per-URL results live: Redis (REDIS_URL) or process memory. */
export const JOB_STORE = Symbol('downloader.JobStore');
/** Who runs batch jobs: BullMQ workers on Redis, or the in-process runner without Redis. */
export const JOB_RUNNER = Symbol('downloader.JobRunner');
