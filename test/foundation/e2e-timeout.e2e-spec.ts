// jest-circus keeps the timeout that jest.setTimeout() set under this global symbol; without the e2e
// project's setup file (test/support/e2e-timeout.ts) it is unset and every e2e spec that does not raise
// its own timeout runs with the top-level 30 s.
const TIMEOUT = Symbol.for('TEST_TIMEOUT_SYMBOL');

describe('the e2e project', () => {
  it('runs every spec with a 60 s default timeout', () => {
    expect((globalThis as Record<symbol, unknown>)[TIMEOUT]).toBe(60_000);
  });
});
