// Entry point of an extraction child process (started by ExtractionPool with its own heap limit). It
// runs one job at a time, answers over the IPC channel, and exits when the parent goes away. Its arguments
// are the handler modules features registered (ExtractionModule.forFeature), as absolute paths.
import { serveJobs } from './child-loop';
import { createJobRunner } from './jobs';
import type { ExtractionJob } from './protocol';

serveJobs<ExtractionJob>(createJobRunner(process.argv.slice(2)));
