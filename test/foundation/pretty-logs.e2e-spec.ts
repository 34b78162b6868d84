import { ChildApp } from '../support/child-app';

/**
 * Issue 20, item 7: LOG_FORMAT=pretty is for people, but its colour codes went to stdout whatever it was — a
 * file, a pipe, a log collector — as `\x1b[32mINFO\x1b[39m`. Without a terminal, the lines are plain text.
 */
describe('LOG_FORMAT=pretty without a terminal (child process)', () => {
  let app: ChildApp | undefined;
  afterAll(async () => {
    await app?.close();
  });

  it('writes readable lines without colour codes when stdout is a pipe', async () => {
    app = await ChildApp.start({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'info' });
    expect((await app.request('/api/v1/buildings/bld-001')).status).toBe(200);
    await app.close(); // SIGTERM: the transport flushes what it holds
    const out = app.log;
    expect(out).toMatch(/INFO.*Atrium listening/);
    expect(out).toMatch(/request completed/);
    expect(out).not.toContain('\u001b[');
  });
});
