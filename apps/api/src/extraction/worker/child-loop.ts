// The child side of the pool's IPC protocol (protocol.ts), for every child an ExtractionPool starts: the
// extraction children, the local embedding model's, the vector index's. Nest-free and light: a child loads
// this and its own work, nothing else (other features reach it through ../child.ts, not @app/extraction,
// whose index loads Nest).
import type { ChildMessage, JobError, JobMessage } from './protocol';

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** What crosses the channel of a job's error: its name and message, and a reason and details if it has them. */
function jobError(err: unknown): JobError {
  const e = err instanceof Error ? err : new Error(String(err));
  const extra = e as Error & { reason?: string; details?: Record<string, unknown> };
  return { name: e.name, message: e.message, reason: extra.reason, details: extra.details };
}

/**
 * Answers each job the parent sends with `run`'s value, or its error (thrown or rejected), and the child's
 * resident memory right after; tells the parent it is ready (with its baseline memory) once set up; exits
 * when the parent goes away (an orphan has nothing to do: the parent died or closed the channel). Call it
 * once the child's code is loaded: the "ready" is sent from here.
 */
export function serveJobs<Job>(run: (job: Job) => unknown): void {
  process.on('message', (m: JobMessage) => {
    if (m?.type !== 'job') return;
    new Promise((resolve) => resolve(run(m.job as Job))).then(
      (value) => send({ type: 'result', id: m.id, ok: true, value, rssBytes: process.memoryUsage.rss() }),
      (err: unknown) =>
        send({
          type: 'result',
          id: m.id,
          ok: false,
          error: jobError(err),
          rssBytes: process.memoryUsage.rss(),
        }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', rssBytes: process.memoryUsage.rss() });
}
