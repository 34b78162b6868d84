// Starts a real Prometheus (Debian's `prometheus` binary) on a free loopback port with a temporary
// storage directory, loading the repo's rule files. The caller must stop() it (afterAll / finally).
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { RULES_DIR, requireTool } from './monitoring-files';
import { freePort } from '../support/redis-server';

export interface QueryResult {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

export interface RunningPrometheus {
  url: string;
  query(expr: string): Promise<QueryResult>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: {
  /** host:port targets of job "atrium-api" */
  scrapeTargets: string[];
  scrapeInterval?: string;
}): Promise<RunningPrometheus> {
  const bin = requireTool('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'atrium-prom-'));
  const port = await freePort();
  const config = {
    global: {
      scrape_interval: opts.scrapeInterval ?? '1s',
      evaluation_interval: opts.scrapeInterval ?? '1s',
    },
    rule_files: [join(RULES_DIR, '*.yml')],
    scrape_configs: opts.scrapeTargets.length
      ? [
          {
            job_name: 'atrium-api',
            metrics_path: '/metrics',
            static_configs: [{ targets: opts.scrapeTargets }],
          },
        ]
      : [],
  };
  writeFileSync(join(dir, 'prometheus.yml'), dump(config));
  let output = '';
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited early:\n${output}`);
    }
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    logs: () => output,
    stop,
    query: async (expr: string) => {
      const r = await fetch(`${url}/api/v1/query`, {
        method: 'POST',
        body: new URLSearchParams({ query: expr }),
      });
      return (await r.json()) as QueryResult;
    },
  };
}
