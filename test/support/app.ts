import { Type } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtriumApp, createApp } from '@app/bootstrap';
import { testConfig } from '@app/config';
import { LogCapture } from './log-capture';
import { seedDataDir } from './pglite-template';

export interface RunningApp {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  atrium: AtriumApp;
  logs: LogCapture;
  dataDir: string;
  /** GET/POST… against the app with fetch; returns status, headers and parsed JSON (or text). */
  request(path: string, init?: RequestInit): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  text: string;
}

export async function fetchJson(url: string, init?: RequestInit): Promise<TestResponse> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain text (metrics exposition, html)
  }
  return { status: res.status, headers: res.headers, body, text };
}

/**
 * Boots the real app (Fastify on a real loopback port) with a fresh DATA_DIR and captured logs.
 * `env` is the environment the config is built from — exactly what an operator would set.
 */
/** A request to the app as one API key's caller; `json` is sent as the body with its content type. */
export type KeyedCall = (path: string, init?: RequestInit & { json?: unknown }) => Promise<TestResponse>;

export function keyedClient(app: RunningApp, key: string): KeyedCall {
  return (path, init = {}) => {
    const { json, ...rest } = init;
    const headers: Record<string, string> = { 'X-API-Key': key, ...(rest.headers as Record<string, string>) };
    if (json !== undefined) headers['content-type'] = 'application/json';
    return app.request(path, {
      ...rest,
      headers,
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
  };
}

/**
 * Copies the run's migrated embedded database into `dataDir/pglite` (test/support/pglite-template.ts),
 * making it on first use with an app started on an empty folder; false outside a Jest e2e run.
 */
export function seedFromRunTemplate(dataDir: string): Promise<boolean> {
  return seedDataDir(dataDir, makeTemplateApp);
}

/**
 * The template's maker runs in a module registry of its own (`jest.isolateModulesAsync`): nestjs-pino keeps
 * the first pino-http instance made in a registry for every later app of it, so a maker sharing the spec's
 * modules would take the spec's own app's Nest log lines (a constructor's `Logger.log`) into its sink.
 */
async function makeTemplateApp(): Promise<string> {
  let dataDir: string | undefined;
  await jest.isolateModulesAsync(async () => {
    // compiled to require() (jest.config.js: swc, CommonJS), so it is this registry's own copy; a native
    // import() would go through Jest's ESM registry, which isolateModulesAsync does not isolate
    const own = await import('./app');
    const first = await own.startApp({}, { freshDataDir: true });
    await first.atrium.app.close();
    dataDir = first.dataDir;
  });
  if (!dataDir) throw new Error('the template app did not start');
  return dataDir;
}

export interface StartAppOptions {
  extraModules?: Type[];
  logLevel?: string;
  /**
   * Start the embedded database on an empty DATA_DIR (initdb and every migration, as a first start in
   * production does) instead of a copy of the run's migrated template (test/support/pglite-template.ts).
   */
  freshDataDir?: boolean;
}

export async function startApp(
  env: Record<string, string | undefined> = {},
  opts: StartAppOptions = {},
): Promise<RunningApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-test-'));
  if (!env.DATABASE_URL && !env.DATA_DIR && !opts.freshDataDir) await seedFromRunTemplate(dataDir);
  const config = testConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: opts.logLevel ?? 'info',
    // the heap check would measure this Jest process (every suite of the run, and coverage data under
    // --coverage), not the app: a test of that check sets its own threshold
    HEALTH_MEMORY_HEAP_MAX_BYTES: String(16 * 1024 ** 3),
    // no embedding model child (~500 MB, seconds of CPU) behind every spec: the embedding specs opt in
    EMBEDDINGS_PROVIDER: 'off',
    ...env,
  });
  const logs = new LogCapture(config.log.level);
  const atrium = await createApp(config, { logger: logs.logger, extraModules: opts.extraModules });
  await atrium.app.listen({ port: 0, host: '127.0.0.1' });
  const address = atrium.app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    url,
    port,
    atrium,
    logs,
    dataDir,
    request: (path, init) => fetchJson(`${url}${path}`, init),
    close: async () => {
      if (closed) return;
      closed = true;
      await atrium.app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
