import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { buildDocx } from '../../../../../test/fixtures/documents/builders';
import { childCommand } from '../child-command';
import type { ChildMessage } from './protocol';

// The three child scripts an ExtractionPool starts, for real (their own processes, through the same loader),
// spoken to over the IPC channel as the pool does — with a probe preloaded that reports the loaded modules.
const PROBE = join(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  '..',
  'test',
  'fixtures',
  'extraction',
  'report-modules.js',
);
const embeddings = require.resolve('../../search/embeddings/vector-index');
const CHILDREN = {
  extraction: childCommand(__filename, 'extraction.worker'),
  embedding: childCommand(embeddings, 'embedding.worker'),
  'vector index': childCommand(embeddings, 'vector-index.worker'),
};
const NEST = /[\\/]node_modules[\\/]@nestjs[\\/]/;

type Reply = ChildMessage | { type: 'modules'; ids: string[] };
const children: ChildProcess[] = [];

/** Forks a child script (`preload`: extra `-r` modules) and resolves once it says it is ready. */
async function start(
  command: (typeof CHILDREN)[keyof typeof CHILDREN],
  preload: string[] = [],
): Promise<{ child: ChildProcess; ready: ChildMessage; ask: (m: object) => Promise<Reply> }> {
  const child = fork(command.entry, [], {
    execArgv: [...command.execArgv, ...preload.flatMap((p) => ['-r', p]), '-r', PROBE],
    env: { ...process.env, ...command.env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  children.push(child);
  const [ready] = (await once(child, 'message')) as [ChildMessage];
  const ask = async (m: object): Promise<Reply> => {
    const reply = once(child, 'message') as Promise<[Reply]>;
    child.send(m);
    return (await reply)[0];
  };
  return { child, ready, ask };
}

async function loaded(ask: (m: object) => Promise<Reply>): Promise<string[]> {
  const reply = await ask({ type: 'modules' });
  if (reply.type !== 'modules') throw new Error(`not a module list: ${JSON.stringify(reply)}`);
  return reply.ids;
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('the child side of the pool protocol (serveJobs, real child processes)', () => {
  it.each(Object.entries(CHILDREN))(
    'the %s child says it is ready with its memory, loads no @nestjs/* and exits when the parent lets go',
    async (_name, command) => {
      const { child, ready, ask } = await start(command);
      expect(ready).toEqual({ type: 'ready', rssBytes: expect.any(Number) });
      expect((ready as { rssBytes: number }).rssBytes).toBeGreaterThan(0);
      const ids = await loaded(ask);
      // the probe sees the child's own graph: the shared loop is in it
      expect(ids).toContainEqual(expect.stringMatching(/extraction[\\/]worker[\\/]child-loop\.ts$/));
      expect(ids.filter((id) => NEST.test(id))).toEqual([]);
      const exit = once(child, 'exit');
      child.disconnect();
      expect(await exit).toEqual([0, null]);
    },
  );

  it('the probe does see Nest where a child loads it (the check above can fail)', async () => {
    const { ask } = await start(CHILDREN.extraction, ['@nestjs/common']);
    expect((await loaded(ask)).filter((id) => NEST.test(id)).length).toBeGreaterThan(0);
  });

  it("answers a job with its value or its error (a thrown one or a rejection, reason and details kept), and the child's memory", async () => {
    const vectors = await start(CHILDREN['vector index']);
    expect(
      await vectors.ask({
        type: 'job',
        id: 1,
        job: { kind: 'begin', store: 's', key: 's:1', rows: 1, dims: 2, budgetBytes: 1e6 },
      }),
    ).toEqual({
      type: 'result',
      id: 1,
      ok: true,
      value: { kind: 'ok', bytes: expect.any(Number) },
      rssBytes: expect.any(Number),
    });
    // run() throws synchronously
    expect(await vectors.ask({ type: 'job', id: 2, job: { kind: 'nope' } })).toEqual({
      type: 'result',
      id: 2,
      ok: false,
      error: { name: 'Error', message: 'not a vector index job' },
      rssBytes: expect.any(Number),
    });
    vectors.child.send({ type: 'not a job' }); // ignored: the next answer is the next job's
    const extraction = await start(CHILDREN.extraction);
    const archive = { maxEntries: 1, maxUncompressedBytes: 1e6, maxRatio: 100 };
    expect(
      await extraction.ask({
        type: 'job',
        id: 7,
        job: { kind: 'docx', maxTextChars: 100, data: buildDocx(['a']), archive },
      }),
    ).toEqual({
      type: 'result',
      id: 7,
      ok: false,
      error: {
        name: 'ArchiveRefusal',
        message: expect.any(String),
        reason: 'zip_entries',
        details: expect.any(Object),
      },
      rssBytes: expect.any(Number),
    });
    expect(await vectors.ask({ type: 'job', id: 3, job: { kind: 'end', key: 's:1' } })).toMatchObject({
      id: 3,
      ok: true,
    });
  });
});
