// docker-compose.yml, the Dockerfile and the Kubernetes manifests, cross-checked against the app:
// probe paths are the app's health routes (and answer as the probes expect), ports match, every
// environment variable set is one the config schema reads (and the values validate), the grace
// period covers preStop + drain + shutdown timeout.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { buildConfig, EnvironmentVariables, environmentVariableNames, memoryBudgetBytes } from '@app/config';
import { RunningApp, startApp } from '../support/app';

const ROOT = join(__dirname, '..', '..');
const K8S = join(ROOT, 'deploy', 'k8s');
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

// The app's probe routes (docs/api.md "Metrics and health"); the live test below proves they answer.
const LIVE = '/health/live';
const READY = '/health/ready';
const PORT = 3000;
const PRESTOP_SECONDS = 5;
const SHUTDOWN_MARGIN_SECONDS = 5;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- YAML documents of arbitrary shape
type Doc = Record<string, any>;
const compose = load(read('docker-compose.yml')) as Doc;
const k8sDocs: Doc[] = readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((f) => (loadAll(readFileSync(join(K8S, f), 'utf8')) as Doc[]).map((d) => ({ ...d, __file: f })));
const kustomization = load(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as Doc;
const byKind = (kind: string): Doc[] => k8sDocs.filter((d) => d.kind === kind);
const one = (kind: string): Doc => {
  const docs = byKind(kind);
  expect(docs).toHaveLength(1);
  return docs[0];
};
const deployment = (): Doc => one('Deployment');
const container = (): Doc => deployment().spec.template.spec.containers[0];
const configMap = (): Doc => byKind('ConfigMap').find((c) => c.metadata.name === 'atrium-api-config')!;
const exampleSecret = (): Doc => byKind('Secret').find((c) => c.metadata.name === 'atrium-api-secrets')!;

/** A Kubernetes memory quantity (`512Mi`, `1.5Gi`, `1G`, bytes) in bytes. */
const k8sBytes = (q: string): number => {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q)!;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? unit[m[2] as keyof typeof unit] : 1);
};
/** A docker-compose byte value (`1536m`, `2g`, `512mb`) in bytes. */
const composeBytes = (v: string | number): number => {
  const m = /^(\d+)\s*([bkmg])?b?$/i.exec(String(v))!;
  return Number(m[1]) * { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[(m[2] ?? 'b').toLowerCase() as 'b'];
};

/** KEY=VALUE lines of an env file. */
const envFile = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .map((l) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
/** compose.env.example, the template of the .env compose reads. */
const composeExample = envFile(read('compose.env.example'));
/** The .env a user has after the README's step: the template with the passwords and secrets it leaves empty filled in. */
const composeEnv = Object.fromEntries(
  Object.entries(composeExample).map(([k, v]) => [
    k,
    v === '' ? `generated-${k.toLowerCase()}-0123456789abcdef` : v,
  ]),
);
/** A docker-compose value as compose resolves it from `env`: `${VAR}`, `${VAR:-default}`, `${VAR:?error}`. */
const composeResolve = (v: unknown, env: Record<string, string> = composeEnv): string =>
  String(v).replace(
    /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
    (_all, name: string, op?: string, arg?: string) => {
      if (env[name]) return env[name];
      if (op === '?') throw new Error(`compose refuses to start: ${arg}`);
      return op === '-' ? (arg ?? '') : '';
    },
  );

const schema = new Set(environmentVariableNames());

describe('config schema (the list the cross-checks use)', () => {
  it('is read from the app and matches .env.example', () => {
    expect(schema.size).toBeGreaterThan(20);
    const example = read('.env.example')
      .split('\n')
      .map((l) => l.match(/^([A-Z][A-Z0-9_]*)=/)?.[1])
      .filter(Boolean);
    expect([...schema].sort()).toEqual([...new Set(example)].sort());
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = [...text.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];

  it('is multi-stage on node:24-slim', () => {
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24-slim$/m);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s[1]).toBe('${NODE_IMAGE}');
  });

  it('installs with npm ci, builds, prunes dev dependencies', () => {
    expect(text).toMatch(/RUN npm ci\b/);
    expect(text).toMatch(/npm run build/);
    expect(text).toMatch(/npm prune --omit=dev/);
  });

  it('runs the compiled entry point that npm run build produces', () => {
    // tsc -p tsconfig.build.json: outDir + (entry relative to rootDir)
    const build = JSON.parse(read('tsconfig.build.json'));
    const base = JSON.parse(read('tsconfig.json'));
    const outDir = build.compilerOptions?.outDir ?? base.compilerOptions.outDir;
    const rootDir = build.compilerOptions?.rootDir ?? base.compilerOptions.rootDir;
    const entry = join(outDir, relative(join(ROOT, rootDir), join(ROOT, 'apps/api/src/main.ts'))).replace(
      /\.ts$/,
      '.js',
    );
    const cmd = text.match(/^CMD\s+(\[.*\])$/m)![1];
    expect(JSON.parse(cmd)).toEqual(['node', entry.replace(/^\.\//, '')]);
  });

  it('runs as a non-root user, exposes 3000, declares DATA_DIR=/data as a volume', () => {
    const runtime = text.slice(stages[stages.length - 1].index);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^EXPOSE 3000$/m);
    expect(runtime).toMatch(/DATA_DIR=\/data/);
    expect(runtime).toMatch(/^VOLUME \["\/data"\]$/m);
  });

  it('has a HEALTHCHECK on /health/live using node fetch (no curl in slim)', () => {
    const hc = text.match(/^HEALTHCHECK[\s\S]*?CMD (\[.*\])$/m)!;
    const cmd = JSON.parse(hc[1]) as string[];
    expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
    expect(cmd[2]).toContain(`http://127.0.0.1:'+(process.env.PORT||${PORT})+'${LIVE}`);
    expect(hc[0]).not.toMatch(/curl|wget/);
  });

  it('the image environment is valid app configuration', () => {
    const env = Object.fromEntries(
      [...text.matchAll(/^\s*(?:ENV\s+)?([A-Z_]+)=(\S+?)\s*\\?$/gm)].map((m) => [m[1], m[2]]),
    );
    delete env.NODE_IMAGE;
    delete env.INSTALL_CHROMIUM;
    for (const k of Object.keys(env).filter((k) => !k.startsWith('npm_config_'))) expect(schema).toContain(k);
  });

  it('.dockerignore keeps node_modules, dist, .git, env files and tests out of the build context', () => {
    const ignore = read('.dockerignore').split('\n');
    for (const p of ['node_modules', 'dist', '.git', '.env', 'test', 'coverage']) expect(ignore).toContain(p);
  });
});

describe('docker-compose.yml', () => {
  const services = compose.services as Record<string, Doc>;

  it('has the full stack', () => {
    for (const s of [
      'api',
      'redis',
      'postgres',
      'prometheus',
      'alertmanager',
      'grafana',
      'redis_exporter',
      'postgres_exporter',
      'node_exporter',
    ])
      expect(Object.keys(services)).toContain(s);
  });

  it('every service has a healthcheck', () => {
    for (const [name, s] of Object.entries(services)) {
      expect([name, s.healthcheck?.test]).toEqual([name, expect.any(Array)]);
    }
  });

  it('every depends_on waits for service_healthy of a service that has a healthcheck', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, cond] of Object.entries<Doc>(s.depends_on ?? {})) {
        expect([name, dep, cond.condition]).toEqual([name, dep, 'service_healthy']);
        expect(services[dep]?.healthcheck).toBeDefined();
      }
    }
    expect(Object.keys(services.api.depends_on)).toEqual(expect.arrayContaining(['postgres', 'redis']));
    expect(Object.keys(services.redis_exporter.depends_on)).toEqual(['redis']);
    expect(Object.keys(services.postgres_exporter.depends_on)).toEqual(['postgres']);
    expect(Object.keys(services.grafana.depends_on)).toEqual(['prometheus']);
    expect(Object.keys(services.prometheus.depends_on)).toEqual(['alertmanager']);
  });

  it('the api healthcheck probes a real route on the app port', () => {
    const cmd = (services.api.healthcheck.test as string[]).join(' ');
    expect(cmd).toContain(`http://127.0.0.1:${PORT}${READY}`);
    expect(services.api.ports).toEqual([`127.0.0.1:${PORT}:${PORT}`]);
    expect(services.api.environment.PORT).toBe(String(PORT));
  });

  it('the api sets only variables of the config schema, and the values are a valid config', () => {
    const env = services.api.environment as Record<string, string>;
    expect(Object.keys(env).filter((k) => !schema.has(k))).toEqual([]);
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, composeResolve(v)]));
    expect(() => buildConfig(resolved)).not.toThrow();
  });

  it('the api memory limit covers the heap threshold, every parser child at its RSS limit and the overhead', () => {
    const env = services.api.environment as Record<string, string>;
    const cfg = buildConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, composeResolve(v)])));
    expect(composeBytes(services.api.mem_limit)).toBeGreaterThanOrEqual(memoryBudgetBytes(cfg));
    // the app's defaults fit as well, should the explicit values go
    expect(composeBytes(services.api.mem_limit)).toBeGreaterThanOrEqual(memoryBudgetBytes(buildConfig({})));
  });

  it('the parser children and the heap threshold fit the api memory limit as in Kubernetes', () => {
    const env = services.api.environment as Record<string, string>;
    const cfg = buildConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, composeResolve(v)])));
    const limit = composeBytes(services.api.mem_limit);
    expect(cfg.extraction.workerHeapMb).toBeLessThan(cfg.extraction.workerRssMb);
    expect(cfg.health.heapMaxBytes).toBeLessThan(
      limit - cfg.extraction.workers * cfg.extraction.workerRssMb * 2 ** 20,
    );
    // compose and Kubernetes run the same budget; compose's image adds Chromium, so its limit may be higher
    const k8sCfg = buildConfig({ ...configMap().data, ...exampleSecret().stringData });
    expect(memoryBudgetBytes(cfg)).toBe(memoryBudgetBytes(k8sCfg));
    expect(limit).toBeGreaterThanOrEqual(k8sBytes(container().resources.limits.memory));
  });

  it('the api stop grace period exceeds SHUTDOWN_TIMEOUT_MS', () => {
    const grace = Number(String(services.api.stop_grace_period).replace(/s$/, ''));
    expect(grace).toBeGreaterThan(Number(services.api.environment.SHUTDOWN_TIMEOUT_MS) / 1000);
  });

  it('Prometheus scrapes the api at the compose service name and port, and the exporters', () => {
    const prom = load(read('monitoring/prometheus/prometheus.yml')) as Doc;
    const targets = Object.fromEntries(
      prom.scrape_configs.map((s: Doc) => [
        s.job_name,
        { path: s.metrics_path ?? '/metrics', targets: s.static_configs[0].targets },
      ]),
    );
    expect(targets['atrium-api']).toEqual({ path: '/metrics', targets: [`api:${PORT}`] });
    expect(targets['redis-exporter'].targets).toEqual(['redis_exporter:9121']);
    expect(targets['postgres-exporter'].targets).toEqual(['postgres_exporter:9187']);
    expect(targets['node-exporter'].targets).toEqual(['node_exporter:9100']);
    expect(prom.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
    for (const host of ['api', 'redis_exporter', 'postgres_exporter', 'node_exporter', 'alertmanager'])
      expect(Object.keys(services)).toContain(host);
  });
});

/** Issue 20, item 5: the stack a reader starts is not open to the network, and has no well-known password. */
describe('docker-compose.yml is safe by default', () => {
  // the file's values (its comments, which quote `${VAR:?…}`, left out)
  const text = JSON.stringify(compose);
  const services = compose.services as Record<string, Doc>;
  const SECRETS = [
    'AUTH_API_KEYS',
    'POSTGRES_PASSWORD',
    'GF_ADMIN_PASSWORD',
    'WEBHOOK_SECRET',
    'BUILDING_DIRECTORY_WEBHOOK_SECRET',
  ];

  it('publishes every port on 127.0.0.1 only', () => {
    const published = Object.entries(services).flatMap(([name, s]) =>
      ((s.ports ?? []) as unknown[]).map((p) => [name, String(p)]),
    );
    expect(published.length).toBeGreaterThanOrEqual(4);
    for (const [name, port] of published)
      expect([name, port]).toEqual([name, expect.stringMatching(/^127\.0\.0\.1:\d+:\d+$/)]);
  });

  it('has no default for a secret, password or API key: compose refuses to start without them', () => {
    // no `${VAR:-default}` anywhere; every secret is `${VAR:?…}`, required
    expect(text).not.toMatch(/\$\{[A-Z0-9_]+:?-/);
    for (const name of SECRETS)
      expect(text).toMatch(new RegExp(`\\$\\{${name}:\\?[^}]*cp compose\\.env\\.example \\.env`));
    expect(text).not.toMatch(/local-dev-key|change-me|:-atrium|:-admin/);
    // with nothing set, resolving the api's environment fails, naming what is missing
    expect(() => composeResolve(services.api.environment.AUTH_API_KEYS, {})).toThrow(
      /set AUTH_API_KEYS in \.env/,
    );
  });

  it('Grafana has no admin/admin: its admin password is required from .env', () => {
    const password = String(services.grafana.environment.GF_SECURITY_ADMIN_PASSWORD);
    expect(password).toMatch(/^\$\{GF_ADMIN_PASSWORD:\?/);
    expect(composeResolve(password)).not.toBe('admin');
  });

  it('Prometheus runs without --web.enable-lifecycle (no unauthenticated /-/quit or /-/reload)', () => {
    const command = (services.prometheus.command as string[]).join(' ');
    expect(command).toContain('--config.file=');
    expect(command).not.toContain('--web.enable-lifecycle');
  });

  it('compose.env.example, which the README tells you to copy to .env, holds the local API key and every variable compose needs', () => {
    const used = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]))].sort();
    expect(Object.keys(composeExample).sort()).toEqual(used);
    expect(used).toEqual([...SECRETS].sort());
    // the key is only there; the passwords and secrets are left for the user to fill in
    expect(composeExample.AUTH_API_KEYS).toMatch(/^[^=]{16,}=\*$/);
    for (const name of SECRETS.filter((s) => s !== 'AUTH_API_KEYS'))
      expect([name, composeExample[name]]).toEqual([name, '']);
    expect(read('.gitignore').split('\n')).toContain('.env');
    const readme = read('README.md');
    expect(readme).toContain('cp compose.env.example .env');
    expect(readme).not.toMatch(/GRAFANA_ADMIN_PASSWORD|default "?admin"?/);
  });

  it('the api listens on every interface inside its container, set explicitly (the app defaults to loopback)', () => {
    expect(buildConfig({}).http.host).toBe('127.0.0.1');
    expect(services.api.environment.HOST).toBe('0.0.0.0');
    const runtime = read('Dockerfile').slice(read('Dockerfile').lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^\s*HOST=0\.0\.0\.0\b/m);
    expect(configMap().data.HOST).toBe('0.0.0.0');
  });
});

/** 256 MiB per PDF render (PDF_CONCURRENCY) for the browser, where the image has one (README "Memory budget"). */
const BROWSER_BYTES_PER_RENDER = 256 * 2 ** 20;

/** The README's docker compose section (the bullet under "Running the full stack"). */
const readmeComposeSection = (): string => {
  const readme = read('README.md');
  const start = readme.indexOf('- **docker compose**');
  expect(start).toBeGreaterThan(0);
  return readme.slice(start, readme.indexOf('\n- **', start + 1));
};

/** The curl commands of a README section that call the API: their URL and `-H 'Name: value'` headers. */
const readmeCurls = (section: string): { url: string; headers: Record<string, string> }[] =>
  section
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => /^\s*curl\b/.test(l) && l.includes('localhost:3000/api/'))
    .map((l) => ({
      url: /'?(localhost:3000\/api\/[^'\s]*)'?/.exec(l)![1],
      headers: Object.fromEntries([...l.matchAll(/-H '([^:]+):\s*([^']*)'/g)].map((m) => [m[1], m[2]])),
    }));

describe('docker-compose.yml matches its docs (README, Dockerfile)', () => {
  const api = (compose.services as Record<string, Doc>).api;
  const env = api.environment as Record<string, string>;
  const dockerfile = read('Dockerfile');
  const resolvedConfig = () =>
    buildConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, composeResolve(v)])));
  /** The compose key and its tenant, from AUTH_API_KEYS's default. */
  const composeKey = (): { key: string; tenant: string } => {
    const [key, tenant] = composeResolve(env.AUTH_API_KEYS).split(',')[0].split('=');
    return { key, tenant };
  };

  it('PDFs work in the stack: the image it builds installs Chromium where CHROMIUM_PATH points', () => {
    const dockerfileDefault = /^ARG INSTALL_CHROMIUM=(\S+)$/m.exec(dockerfile)![1];
    expect(String(api.build?.args?.INSTALL_CHROMIUM ?? dockerfileDefault)).toBe('true');
    expect(api.build.context).toBe('.');
    // under that argument the runtime stage installs Debian's chromium package, whose binary is /usr/bin/chromium
    expect(dockerfile).toMatch(
      /if \[ "\$INSTALL_CHROMIUM" = "true" \]; then\s*\\\s*apt-get update && apt-get install -y --no-install-recommends chromium\b/,
    );
    expect(resolvedConfig().downloader.chromiumPath).toBe('/usr/bin/chromium');
  });

  it('the memory limit covers the browser too (256 MiB per PDF render)', () => {
    const cfg = resolvedConfig();
    expect(composeBytes(api.mem_limit)).toBeGreaterThanOrEqual(
      memoryBudgetBytes(cfg) + cfg.downloader.pdfConcurrency * BROWSER_BYTES_PER_RENDER,
    );
  });

  it("the Dockerfile's comment and the README say how the stack's image gets Chromium", () => {
    expect(dockerfile).toMatch(/^# docker-compose\.yml builds with INSTALL_CHROMIUM=true/m);
    const section = readmeComposeSection();
    expect(section).toContain('INSTALL_CHROMIUM: "true"');
    expect(section).toContain(`CHROMIUM_PATH=${env.CHROMIUM_PATH}`);
    expect(section).toContain(`AUTH_API_KEYS=${composeResolve(env.AUTH_API_KEYS)}`);
    expect(read('README.md')).not.toMatch(/the Docker image installs it\)/);
  });

  it("the README's compose requests send the stack's key and a tenant it serves", () => {
    const { key, tenant } = composeKey();
    const sample = JSON.parse(read('apps/api/src/building-directory/data/sample-buildings.json')) as {
      tenants: Record<string, unknown>;
    };
    const curls = readmeCurls(readmeComposeSection());
    expect(curls.length).toBeGreaterThanOrEqual(2);
    for (const { headers } of curls) {
      expect(headers['X-API-Key']).toBe(key);
      if (tenant === '*') expect(Object.keys(sample.tenants)).toContain(headers['X-Tenant-ID']);
      else expect([undefined, tenant]).toContain(headers['X-Tenant-ID']);
    }
  });

  describe("the README's building request, against the app configured with the stack's keys", () => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await startApp({ AUTH_API_KEYS: composeResolve(env.AUTH_API_KEYS) });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('answers 200 with the building (and 400 without the tenant header)', async () => {
      const buildings = readmeCurls(readmeComposeSection()).filter((c) => c.url.includes('/buildings/'));
      expect(buildings.length).toBeGreaterThan(0);
      for (const { url, headers } of buildings) {
        const path = url.replace('localhost:3000', '');
        const res = await app.request(path, { headers });
        expect([path, res.status]).toEqual([path, 200]);
        expect(res.body.id).toBe(path.split('/').pop());
        const { 'X-Tenant-ID': _tenant, ...withoutTenant } = headers;
        if (composeKey().tenant === '*')
          expect((await app.request(path, { headers: withoutTenant })).body.code).toBe('TENANT_REQUIRED');
      }
    });
  });
});

describe('Kubernetes (deploy/k8s kustomize base)', () => {
  it('kustomization lists every manifest in the directory (except the secret example)', () => {
    const files = readdirSync(K8S).filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'secret.example.yaml',
    );
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('the container serves port 3000 named http; the Service maps 80 to it', () => {
    expect(container().ports).toEqual([{ name: 'http', containerPort: PORT, protocol: 'TCP' }]);
    const svc = one('Service');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(svc.spec.selector).toEqual(deployment().spec.selector.matchLabels);
    expect(configMap().data.PORT).toBe(String(PORT));
  });

  it('probes: startup and liveness on /health/live, readiness on /health/ready, all on the http port', () => {
    const c = container();
    expect(c.startupProbe.httpGet).toEqual({ path: LIVE, port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: LIVE, port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: READY, port: 'http' });
  });

  it('terminationGracePeriodSeconds > preStop + SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS + margin', () => {
    const c = container();
    expect(c.lifecycle.preStop.exec.command).toEqual(['sleep', String(PRESTOP_SECONDS)]);
    const cfg = buildConfig({ ...configMap().data, ...exampleSecret().stringData });
    const needed =
      PRESTOP_SECONDS +
      (cfg.http.shutdownDrainMs + cfg.http.shutdownTimeoutMs) / 1000 +
      SHUTDOWN_MARGIN_SECONDS;
    expect(deployment().spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(needed);
  });

  it('resources: CPU requests 200m, limit 500m; memory request ≤ limit', () => {
    const r = container().resources;
    expect(r.requests.cpu).toBe('200m');
    expect(r.limits.cpu).toBe('500m');
    expect(k8sBytes(r.requests.memory)).toBeLessThanOrEqual(k8sBytes(r.limits.memory));
  });

  it('the memory limit covers HEALTH_MEMORY_HEAP_MAX_BYTES + EXTRACTION_WORKERS × EXTRACTION_WORKER_RSS_MB + overhead', () => {
    const limit = k8sBytes(container().resources.limits.memory);
    const cfg = buildConfig({ ...configMap().data, ...exampleSecret().stringData });
    expect(limit).toBeGreaterThanOrEqual(memoryBudgetBytes(cfg));
    // the app's own defaults agree with the manifest (nobody has to set them for the limit to hold)
    expect(limit).toBeGreaterThanOrEqual(memoryBudgetBytes(buildConfig({})));
    // a parser child's heap limit sits under its RSS limit, so V8 aborts it (memory) before the pod is near
    expect(cfg.extraction.workerHeapMb).toBeLessThan(cfg.extraction.workerRssMb);
    // the heap threshold of /health is reachable: below what the pod may use besides the children
    expect(cfg.health.heapMaxBytes).toBeLessThan(
      limit - cfg.extraction.workers * cfg.extraction.workerRssMb * 2 ** 20,
    );
  });

  it('runs non-root with a read-only root filesystem; /data and /tmp are writable emptyDirs', () => {
    const pod = deployment().spec.template.spec;
    const c = container();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const mounts = Object.fromEntries(c.volumeMounts.map((m: Doc) => [m.mountPath, m.name]));
    expect(Object.keys(mounts).sort()).toEqual(['/data', '/tmp']);
    for (const name of Object.values(mounts))
      expect(pod.volumes.find((v: Doc) => v.name === name).emptyDir).toBeDefined();
    expect(configMap().data.DATA_DIR).toBe('/data');
  });

  it('takes its environment from the ConfigMap and the Secret', () => {
    expect(container().envFrom).toEqual([
      { configMapRef: { name: 'atrium-api-config' } },
      { secretRef: { name: 'atrium-api-secrets' } },
    ]);
    expect(container().env).toBeUndefined();
  });

  it('ConfigMap and example Secret set only schema variables, and together form a valid production config', () => {
    const data = { ...configMap().data, ...exampleSecret().stringData };
    expect(Object.keys(data).filter((k) => !schema.has(k))).toEqual([]);
    expect(() => buildConfig(data)).not.toThrow();
    expect(buildConfig(data).http.port).toBe(PORT);
    // no secret material in the ConfigMap
    for (const k of [
      'AUTH_API_KEYS',
      'DATABASE_URL',
      'WEBHOOK_SECRET',
      'BUILDING_DIRECTORY_TOKEN',
      'BUILDING_DIRECTORY_WEBHOOK_SECRET',
    ])
      expect(configMap().data[k]).toBeUndefined();
    // the example Secret is documentation only: not deployed by the base
    expect(kustomization.resources).not.toContain('secret.example.yaml');
    for (const v of Object.values<string>(exampleSecret().stringData)) expect(v).not.toMatch(/^\s*$/);
  });

  it('HPA autoscaling/v2: 2-10 replicas, CPU 70%, memory 80%, fast up, 5-minute stabilised down', () => {
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment().metadata.name,
    });
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBe(10);
    const target = (name: string): number =>
      hpa.spec.metrics.find((m: Doc) => m.resource?.name === name).resource.target.averageUtilization;
    expect(target('cpu')).toBe(70);
    expect(target('memory')).toBe(80);
    expect(hpa.spec.behavior.scaleUp.stabilizationWindowSeconds).toBe(0);
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
    expect(deployment().spec.replicas).toBeUndefined(); // the HPA owns the count
  });

  it('PDB keeps one pod available', () => {
    const pdb = one('PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment().spec.selector.matchLabels);
  });

  it('ServiceMonitor scrapes /metrics on the http port of the Service (job label = atrium-api)', () => {
    const sm = one('ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
    expect(sm.spec.selector.matchLabels).toEqual(one('Service').metadata.labels);
    // the rules select job="atrium-api"; the Prometheus Operator names the job after the Service
    expect(one('Service').metadata.name).toBe('atrium-api');
  });

  it('PrometheusRule is exactly the generator output from monitoring/prometheus/rules', () => {
    const out = execFileSync(process.execPath, [join(K8S, 'generate-prometheusrule.js'), '--stdout'], {
      encoding: 'utf8',
    });
    expect(readFileSync(join(K8S, 'prometheusrule.yaml'), 'utf8')).toBe(out);
    const rule = one('PrometheusRule');
    const groups = readdirSync(join(ROOT, 'monitoring/prometheus/rules'))
      .filter((f) => f.endsWith('.yml'))
      .sort()
      .flatMap((f) => (load(read(`monitoring/prometheus/rules/${f}`)) as Doc).groups);
    expect(rule.spec.groups).toEqual(groups);
  });
});

/**
 * Issue 10's limits as the README documents them: each variable has a row in a README table whose default
 * is the config schema's default, and the refusal it names (status and code) is in that row.
 */
describe('README documents every limit of issue 10 with the default the app uses', () => {
  const readme = read('README.md');
  const defaults = new EnvironmentVariables() as unknown as Record<string, unknown>;
  /** `| \`A\`, \`B\` | \`1\`, \`2\` | text |` rows: variable → [documented default, the row's text]. */
  const rows = new Map<string, [string, string]>();
  for (const line of readme.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells.length < 4 || !cells[1].startsWith('`')) continue;
    const names = [...cells[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]);
    const values = [...cells[2].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    if (names.length && names.length === values.length)
      names.forEach((n, i) => rows.set(n, [values[i], cells.slice(3).join(' | ')]));
  }
  /** `512 MiB` → bytes; anything else as written. */
  const value = (v: string): string => {
    const m = /^(\d+) (KiB|MiB|GiB)$/.exec(v);
    return m ? String(Number(m[1]) * { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }[m[2] as 'KiB']) : v;
  };

  it.each([
    ['BODY_JSON_MAX_DEPTH', /400 `MALFORMED_JSON`/],
    ['BODY_IDLE_TIMEOUT_MS', /408 `REQUEST_TIMEOUT`/],
    ['BODY_MIN_BYTES_PER_SECOND', /408 `REQUEST_TIMEOUT`/],
    ['HEADERS_READ_TIMEOUT_MS', /408 `REQUEST_TIMEOUT`/],
    ['HEADERS_MAX_BYTES', /431 `HEADERS_TOO_LARGE`/],
    ['URL_MAX_LENGTH', /414 `URI_TOO_LONG`/],
    ['AUTH_FAILURE_LIMIT', /429 `RATE_LIMITED`/],
    ['AUTH_FAILURE_WINDOW_MS', /429 `RATE_LIMITED`/],
    ['DATABASE_STATEMENT_TIMEOUT_MS', /503 `DATABASE_TIMEOUT`/],
    ['SEARCH_QUERY_MAX_CHARS', /400 `VALIDATION_FAILED`/],
    ['SEARCH_QUERY_MAX_TERMS', /400 `VALIDATION_FAILED`/],
    ['SEARCH_STATEMENT_TIMEOUT_MS', /503 `SEARCH_TIMEOUT`/],
    ['UPLOAD_MAX_FILE_BYTES', /413 `FILE_TOO_LARGE`/],
    ['UPLOAD_MEMORY_BUDGET_MB', /503 `CAPACITY_EXCEEDED`/],
    ['UPLOAD_MEMORY_WAIT_MS', /./],
    ['EXTRACTION_WORKERS', /./],
    ['EXTRACTION_WORKER_HEAP_MB', /./],
    ['EXTRACTION_WORKER_RSS_MB', /`memory`/],
    ['EXTRACTION_TIMEOUT_MS', /`timeout`/],
    ['EXTRACTION_CPU_MS', /`cpu`/],
    ['EXTRACTION_QUEUE_MAX', /503 `CAPACITY_EXCEEDED`/],
    ['EXTRACTION_IDLE_MS', /./],
    ['EXTRACTION_MAX_TEXT_CHARS', /`text_too_large`/],
    ['EXTRACTION_ZIP_MAX_ENTRIES', /`zip_entries`/],
    ['EXTRACTION_ZIP_MAX_BYTES', /`zip_size`/],
    ['EXTRACTION_ZIP_MAX_RATIO', /`zip_ratio`/],
    ['HEALTH_MEMORY_HEAP_MAX_BYTES', /memory budget/],
  ])('%s', (name, refusal) => {
    expect(schema).toContain(name);
    const row = rows.get(name);
    expect({ name, documented: row !== undefined }).toEqual({ name, documented: true });
    expect({ name, default: value(row![0]) }).toEqual({ name, default: String(defaults[name]) });
    expect(row![1]).toMatch(refusal);
  });

  it('names the status and code of each refusal where the limits are described', () => {
    for (const code of ['ARCHIVE_REFUSED', 'EXTRACTION_FAILED', 'SEARCH_TIMEOUT', 'DATABASE_UNAVAILABLE'])
      expect(readme).toMatch(new RegExp(`(422|503) \`${code}\``));
  });
});

describe('probe routes answer as the probes expect (real app)', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it(`${LIVE} → 200 {status:"ok"}`, async () => {
    const r = await app.request(LIVE);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok' });
  });

  it(`${READY} → 200 while the dependencies answer`, async () => {
    const r = await app.request(READY);
    expect(r.status).toBe(200);
  });

  it('/metrics answers with the Prometheus text format (ServiceMonitor and compose scrape path)', async () => {
    const r = await app.request('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    expect(r.text).toMatch(/^# HELP /m);
  });
});
