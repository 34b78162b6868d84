// Entry point of the browser host: a child process (started by PdfRenderer at niceness 10, which the
// browser it launches inherits) that runs playwright-core and the headless Chromium it drives. Everything
// playwright does for a page — the browser protocol, frames, routing, the printed PDF — runs on this
// process's event loop, never on the API's: a page of 1,000 frames or a script loop costs this process
// and the browser, never /health/live. Every request a page makes is passed to the parent, which answers
// it through the URL policy (or refuses it); the child never opens a socket to a page's origin.
// No @app imports: the child resolves modules without the path aliases.
import type { Browser, BrowserContext, Route } from 'playwright-core';
import type { BrowserSetup, ChildMessage, ParentMessage, RenderJob } from './browser.protocol';

let setup: BrowserSetup | undefined;
let browser: Promise<Browser> | undefined;
const contexts = new Map<number, BrowserContext>();
const answers = new Map<string, (m: Extract<ParentMessage, { type: 'fetched' | 'refused' }>) => void>();
let nextReq = 0;

function send(message: ChildMessage): void {
  process.send?.(message);
}

function launch(): Promise<Browser> {
  if (!setup) return Promise.reject(new Error('no setup'));
  const { executablePath, args } = setup;
  browser ??= import('playwright-core').then(({ chromium }) =>
    chromium.launch({ executablePath, headless: true, args, timeout: 30_000 }),
  );
  return browser;
}

class Timeout extends Error {}
class TooLarge extends Error {}

async function render(job: RenderJob): Promise<void> {
  const deadlineAt = Date.now() + job.timeoutMs;
  const remaining = (): number => Math.max(1, deadlineAt - Date.now());
  const blocked: string[] = [];
  let context: BrowserContext | undefined;
  try {
    context = await (
      await launch()
    ).newContext({
      serviceWorkers: 'block',
      acceptDownloads: false,
      userAgent: setup?.userAgent,
    });
    contexts.set(job.id, context);
    let requests = 0;
    let mainServed = false;
    await context.routeWebSocket(/.*/, (ws) => ws.close({ code: 1008, reason: 'blocked by policy' }));
    await context.route('**/*', async (route: Route) => {
      const request = route.request();
      const target = request.url();
      try {
        if (!mainServed && target === job.url && request.isNavigationRequest()) {
          mainServed = true;
          return await route.fulfill({
            status: 200,
            contentType: job.contentType,
            body: Buffer.from(job.body),
          });
        }
        if (++requests > job.maxRequests || !['GET', 'HEAD'].includes(request.method())) {
          blocked.push(target);
          return await route.abort('blockedbyclient');
        }
        const answer = await ask(job.id, target, request.headers()['accept'] ?? '*/*');
        if (answer.type === 'refused') {
          if (answer.blocked) blocked.push(target);
          return await route.abort(answer.blocked ? 'blockedbyclient' : 'failed');
        }
        return await route.fulfill({
          status: answer.status,
          contentType: answer.contentType,
          body: Buffer.from(answer.body),
        });
      } catch {
        // the page may already be gone (closed context): nothing left to answer
        await route.abort('failed').catch(() => undefined);
      }
    });
    const page = await context.newPage();
    try {
      await page.goto(job.url, { waitUntil: 'load', timeout: remaining() });
    } catch (err) {
      if (Date.now() >= deadlineAt) throw new Timeout();
      throw err;
    }
    page.setDefaultTimeout(remaining());
    if (job.output === 'pdf') {
      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      return send({ type: 'done', id: job.id, output: pdf, blocked });
    }
    try {
      if (job.waitFor) await page.waitForSelector(job.waitFor, { state: 'attached', timeout: remaining() });
      if (job.waitMs) await page.waitForTimeout(Math.min(job.waitMs, remaining()));
    } catch (err) {
      if (Date.now() >= deadlineAt) throw new Timeout();
      throw err;
    }
    const html = Buffer.from(await page.content(), 'utf8');
    if (html.length > job.maxOutputBytes) throw new TooLarge(`rendered DOM over ${job.maxOutputBytes} bytes`);
    send({ type: 'done', id: job.id, output: html, blocked });
  } catch (err) {
    send({
      type: 'failed',
      id: job.id,
      tooLarge: err instanceof TooLarge,
      timedOut: err instanceof Timeout || Date.now() >= deadlineAt,
      message: err instanceof Error ? err.message.slice(0, 500) : String(err),
    });
  } finally {
    contexts.delete(job.id);
    await context?.close().catch(() => undefined);
  }
}

/** One sub-resource through the parent (URL policy, pinned DNS, size limit). */
function ask(
  id: number,
  url: string,
  accept: string,
): Promise<Extract<ParentMessage, { type: 'fetched' | 'refused' }>> {
  const reqId = ++nextReq;
  return new Promise((resolve) => {
    answers.set(`${id}:${reqId}`, resolve);
    send({ type: 'fetch', id, reqId, url, accept });
  });
}

process.on('message', (m: ParentMessage) => {
  switch (m?.type) {
    case 'setup':
      setup = m.setup;
      // launched now, so the first render does not wait for it (and a missing browser is known at once)
      launch().then(
        () => send({ type: 'ready' }),
        (err: unknown) =>
          send({ type: 'launch-failed', message: err instanceof Error ? err.message : String(err) }),
      );
      return;
    case 'render':
      void render(m.job);
      return;
    case 'fetched':
    case 'refused': {
      const key = `${m.id}:${m.reqId}`;
      answers.get(key)?.(m);
      answers.delete(key);
      return;
    }
    case 'cancel':
      void contexts
        .get(m.id)
        ?.close()
        .catch(() => undefined);
      return;
    case 'close':
      void (browser ?? Promise.resolve(undefined))
        .then((b) => b?.close())
        .catch(() => undefined)
        .finally(() => process.exit(0));
      return;
  }
});
// An orphan has nothing to do: the parent died or closed the channel (the browser's pipe closes with us).
process.on('disconnect', () => process.exit(0));
