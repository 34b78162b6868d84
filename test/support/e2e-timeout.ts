// Jest 30 reads `testTimeout` from the top-level config only (a project's own value is ignored), so the
// e2e project sets its longer default here, before any spec runs; a spec may still raise it for itself.
jest.setTimeout(60_000);
