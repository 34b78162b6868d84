// Entry point of an extraction child process (started by ExtractionPool with its own heap limit). It
// runs one job at a time, answers over the IPC channel, and exits when the parent goes away. Its arguments
// are the handler modules features registered (ExtractionModule.forFeature), as absolute paths.
import { createJobRunner } from './jobs';
import type { ChildMessage, ExtractionJob, JobMessage } from './protocol';

function send(message: ChildMessage): void {
  process.send?.(message);
}

const runJob = createJobRunner(process.argv.slice(2));

process.on('message', (m: JobMessage) => {
  if (m?.type !== 'job') return;
  runJob(m.job as ExtractionJob).then(
    (value) => send({ type: 'result', id: m.id, ok: true, value, rssBytes: process.memoryUsage.rss() }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      const extra = e as Error & { reason?: string; details?: Record<string, unknown> };
      send({
        type: 'result',
        id: m.id,
        ok: false,
        error: { name: e.name, message: e.message, reason: extra.reason, details: extra.details },
        rssBytes: process.memoryUsage.rss(),
      });
    },
  );
});
// An orphan has nothing to do: the parent died or closed the channel.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', rssBytes: process.memoryUsage.rss() });
