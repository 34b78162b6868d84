// The extraction module's public surface: what other features import (as `@app/extraction`). A feature
// whose work runs in the parser children registers it here — see ExtractionModule.forFeature and
// docs/architecture.md ("Work in the extraction children").
export { ExtractionModule } from './extraction.module';
export { ExtractionService, MAX_PARSER_MESSAGE } from './extraction.service';
export type { ExtractionFeature } from './extraction-jobs.registry';
export { ExtractionBusyError, ExtractionError } from './extraction.errors';
export type { ExtractionFailureReason } from './extraction.errors';
export { ArchiveRefusal } from './zip-directory';
export type { ArchiveLimits, ArchiveRefusalReason } from './zip-directory';
export type {
  ArchiveLimitsMessage,
  ExtractionJob,
  ExtractionJobHandler,
  ExtractionJobHandlers,
  ExtractionKit,
  JobError,
} from './worker/protocol';
// The pool itself, for a feature that runs a child of its own under the same limits (search's local embedding model).
export {
  ExtractionPool,
  JobFailedError,
  PoolBusyError,
  PoolClosedError,
  WorkerKilledError,
} from './extraction-pool';
export type { ExtractionPoolOptions, KillReason } from './extraction-pool';
export type { ChildMessage, JobMessage } from './worker/protocol';
export { childCommand } from './child-command';
export type { ChildCommand } from './child-command';
