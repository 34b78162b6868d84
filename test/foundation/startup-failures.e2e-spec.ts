// Startup failures name the setting (issue 20, item 6): the service's own entry file in a child process, as an
// operator starts it. A DATABASE_URL whose database does not exist, and a HOST with a port in it, each get one
// line saying which setting and what to do — no stack trace, status non-zero.
import { ChildApp } from '../support/child-app';

/** The lines the process itself wrote (`atrium: …`), and whether anything looks like a stack trace. */
function said(app: ChildApp): { lines: string[]; stack: boolean } {
  const text = app.output.join('');
  return {
    lines: text.split('\n').filter((l) => l.startsWith('atrium:')),
    stack: /\n\s+at .+\(.+:\d+:\d+\)/.test(text),
  };
}

describe('startup failures name the setting', () => {
  it('a DATABASE_URL database that does not exist', async () => {
    const app = await ChildApp.spawn({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test_atrium_missing_database',
    });
    try {
      expect((await app.waitExit()).code).toBe(1);
      expect(said(app)).toEqual({
        lines: [
          'atrium: failed to start: the DATABASE_URL database does not exist ' +
            '(postgres://127.0.0.1:5432/test_atrium_missing_database): create it (createdb) or fix DATABASE_URL',
        ],
        stack: false,
      });
    } finally {
      app.cleanup();
    }
  }, 180_000);

  it('a HOST with a port in it', async () => {
    const app = await ChildApp.spawn({ HOST: 'localhost:3101' });
    try {
      expect((await app.waitExit()).code).toBe(78);
      expect(said(app).stack).toBe(false);
      expect(app.log).toContain(
        'HOST: got "localhost:3101"; allowed: a host name or an IP address, without a port (the port is PORT)',
      );
    } finally {
      app.cleanup();
    }
  }, 180_000);
});
