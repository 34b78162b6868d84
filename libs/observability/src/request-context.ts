import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What every log line of a unit of work carries. Mutable: the tenant is known only after auth. */
export interface RequestContext {
  requestId: string;
  tenantId?: string;
  /** 'http' for requests, otherwise the kind of background work ('job', 'webhook', 'cache-warm', …). */
  kind: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** Records the tenant on the current context so later log lines carry it. */
export function setContextTenant(tenantId: string): void {
  const store = storage.getStore();
  if (store) store.tenantId = tenantId;
}

/**
 * Runs background work (a batch job, a webhook delivery, cache warming) in its own context with its
 * own id, so its log lines are as traceable as a request's. Pass the job id as `id` when there is one.
 */
export function runInBackground<T>(
  kind: string,
  fn: () => T,
  opts: { id?: string; tenantId?: string } = {},
): T {
  return storage.run({ requestId: opts.id ?? randomUUID(), tenantId: opts.tenantId, kind }, fn);
}
