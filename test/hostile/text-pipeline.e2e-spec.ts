// Issue 25, item 1: a 200 KB plain-text file of one word and 100,000 combining marks (no line breaks) froze
// the whole service: NFC's canonical ordering is quadratic in a run of marks, and it ran on the API's event
// loop. Now every step of the text pipeline runs in an extraction child, and the Stream-Safe Text Format
// (UAX #15: a CGJ after 30 non-starters) keeps normalisation linear. Against the built app in a child
// process (test/hostile/harness.ts): the upload answers, /health/live answers every poll within the bound,
// the process lives, and the text went through the extraction pool.
import { form } from '../fixtures/documents/builders';
import { expectSurvived, HOSTILE_TIMEOUT_MS, HostileApp, hostileBackends } from './harness';

jest.setTimeout(HOSTILE_TIMEOUT_MS);

/** The payload: one word, 50,000 × U+0301 (class 230), 50,000 × U+0316 (class 220); × `times`. */
function combiningMarks(times: number): Buffer {
  const one = `word${'\u0301'.repeat(50_000)}${'\u0316'.repeat(50_000)}`;
  return Buffer.from(one.repeat(times));
}

/** A "does not hang" bound for one upload: minutes, many times what it takes on a loaded machine. */
const UPLOAD_BOUND_MS = 240_000;

describe.each(hostileBackends())('combining-mark floods on %s (built app in a child process)', (backend) => {
  let app: HostileApp;

  beforeAll(async () => {
    app = await HostileApp.start({ backend });
    expect((await app.createStore('marks')).status).toBe(201);
  });
  afterAll(() => app?.stop());

  it.each([
    ['200 KB', 1],
    ['2 MB (10×)', 10],
  ])(
    '%s of combining marks: answered, stored or refused with a code, while every liveness poll answers',
    async (_label, times) => {
      const data = combiningMarks(times);
      const filename = `marks-${times}.txt`;
      const jobsBefore = await app.metric('pool_wait_seconds_count', { pool: 'extraction' });
      const probe = await app.during(() =>
        app.tenantRequest('/api/v1/stores/marks/documents', {
          method: 'POST',
          body: form([[filename, data]]),
          signal: AbortSignal.timeout(UPLOAD_BOUND_MS),
        }),
      );
      const res = probe.value;
      // stored, or (a limit of the child) refused with a coded 4xx — never a 500, never a hang
      if (res.status === 201)
        expect(res.body).toMatchObject({
          documents: [{ filename, contentType: 'text/plain', bytes: data.length }],
        });
      else {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.body.code).toMatch(/^[A-Z_]+$/);
      }
      await expectSurvived(app, probe);
      // the text was decoded, normalised and chunked in an extraction child, not on the API's event loop
      expect(await app.metric('pool_wait_seconds_count', { pool: 'extraction' })).toBeGreaterThan(jobsBefore);
      if (res.status === 201) {
        const stored = await app.tenantRequest(
          `/api/v1/stores/marks/documents/${res.body.documents[0].id}?include=text`,
        );
        // Stream-Safe: a CGJ after every 30 marks, every mark kept
        expect(stored.body.text.split('\u034f')).toHaveLength(times * Math.floor((100_000 - 1) / 30) + 1);
      }
    },
  );
});
