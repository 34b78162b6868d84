// The extraction module's surface for a child process an ExtractionPool starts (docs/architecture.md, "Work in
// the extraction children"): the child side of the IPC protocol, Nest-free. A child has no path aliases and
// must not load the module's index (it loads Nest), so another feature's child script imports this file by
// relative path (`../../extraction/child`) — the one exception to "another feature only through its index".
export { serveJobs } from './worker/child-loop';
