// The container image builds and starts (issue 20, item 2). No Docker engine runs here, so the Dockerfile is
// replayed: parsed, each stage given a scratch root folder; the build stage's COPY lines bring exactly what
// they name from the build context (minus .dockerignore), its ENV applies and its RUN steps run there with
// `sh -c` in its WORKDIR (npm ci with --prefer-offline through npm_config_prefer_offline, so the warm npm
// cache serves it); then the runtime stage's COPY --from=build lines assemble its folder, and its CMD runs
// with the image's ENV (PORT: a free port, DATA_DIR: a temporary folder, plus the AUTH_API_KEYS production
// requires) until /health/ready answers 200,
// the HEALTHCHECK command passes and SIGTERM (the STOPSIGNAL) ends it with status 0.
// Not replayed: the runtime stage's RUN steps (apt-get of Chromium when INSTALL_CHROMIUM=true; creating and
// chown-ing /data, which DATA_DIR replaces here) and USER; Node is this test's Node 24, the base image's major.
// The build stage's `scripts/` was missing from its COPY lines: `npm run build` failed on copy-assets.js.
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import { freePort } from '../support/redis-server';

const ROOT = resolve(__dirname, '..', '..');
/** Hang bound: npm ci from the cache, tsc and npm prune take a few minutes on a busy 2-core machine. */
const BUILD_MS = 900_000;

interface Instruction {
  op: string;
  args: string;
}

/** Instructions in order: comment lines dropped, continuation lines joined (as Docker reads them). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (raw.trim().startsWith('#') || (!pending && !raw.trim())) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (!full) continue;
    const m = /^(\S+)\s+([\s\S]*)$/.exec(full);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2] });
  }
  return out;
}

interface Stage {
  name: string;
  instructions: Instruction[];
}

function stages(instructions: Instruction[]): Stage[] {
  const result: Stage[] = [];
  for (const i of instructions) {
    if (i.op === 'FROM') {
      const name = /\sAS\s+(\S+)/i.exec(i.args)?.[1] ?? String(result.length);
      result.push({ name, instructions: [] });
    } else result[result.length - 1]?.instructions.push(i);
  }
  return result;
}

/** `ENV a=b c="d e"` or `ENV key value`. */
function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [key, ...rest] = args.split(/\s+/);
    env[key] = rest.join(' ');
    return env;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) env[m[1]] = m[3] ?? m[2];
  return env;
}

/** A .dockerignore pattern as a regular expression over context-relative paths (a folder hides its files). */
function ignoreMatcher(patterns: string[]): (rel: string) => boolean {
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/^\/+|\/+$/g, '')
      .split('')
      .map((c, i, all) => {
        if (c === '*' && all[i + 1] === '*') return '';
        if (c === '*' && all[i - 1] === '*') return all[i + 1] === '/' ? '(?:.*/)?' : '.*';
        if (c === '*') return '[^/]*';
        if (c === '?') return '[^/]';
        return /[\\^$.|+(){}[\]]/.test(c) ? `\\${c}` : c;
      })
      .join('')
      .replace(/\(\?:\.\*\/\)\?\//g, '(?:.*/)?');
    return new RegExp(`^${body}(?:/.*)?$`);
  });
  return (rel) => regexes.some((r) => r.test(rel));
}

/** Docker's COPY: a folder's contents into dest, a file into dest (or into it when dest is a folder). */
function copyInto(src: string, dest: string, intoDir: boolean, keep: (abs: string) => boolean): void {
  if (statSync(src).isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const name of readdirSync(src)) {
      const from = join(src, name);
      if (!keep(from)) continue;
      copyInto(from, join(dest, name), false, keep);
    }
    return;
  }
  if (!keep(src)) return;
  const target = intoDir ? join(dest, posix.basename(src)) : dest;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(src, target);
}

interface Replayed {
  root: string;
  workdir: string;
  env: Record<string, string>;
  cmd?: string[];
  healthcheck?: string[];
  stopsignal?: string;
}

/** Runs one stage's instructions in its own scratch root; `from` resolves COPY --from=<stage>. */
function replay(
  stage: Stage,
  root: string,
  context: string,
  from: Record<string, Replayed>,
  opts: { run: boolean },
): Replayed {
  const ignored = ignoreMatcher(
    existsSync(join(context, '.dockerignore'))
      ? readFileSync(join(context, '.dockerignore'), 'utf8')
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith('#'))
      : [],
  );
  const state: Replayed = { root, workdir: '/', env: {} };
  const inRoot = (r: string, path: string, workdir: string) =>
    join(r, posix.isAbsolute(path) ? path : posix.join(workdir, path));
  for (const { op, args } of stage.instructions) {
    if (op === 'WORKDIR') {
      state.workdir = posix.resolve(state.workdir, args.trim());
      mkdirSync(inRoot(root, '.', state.workdir), { recursive: true });
    } else if (op === 'ENV') Object.assign(state.env, parseEnv(args));
    else if (op === 'COPY') {
      const words = args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const dest = paths.pop()!;
      const source = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      const target = inRoot(root, dest, state.workdir);
      const intoDir = dest.endsWith('/') || paths.length > 1;
      for (const p of paths) {
        if (source) {
          const other = from[source];
          expect({ copyFrom: source, known: !!other }).toEqual({ copyFrom: source, known: true });
          const src = inRoot(other.root, p, other.workdir);
          expect({ copy: `${source}:${p}`, exists: existsSync(src) }).toEqual({
            copy: `${source}:${p}`,
            exists: true,
          });
          copyInto(src, target, intoDir, () => true);
        } else {
          const src = join(context, p);
          expect({ copy: p, exists: existsSync(src) }).toEqual({ copy: p, exists: true });
          copyInto(src, target, intoDir, (abs) => !ignored(relative(context, abs)));
        }
      }
    } else if (op === 'RUN' && opts.run) {
      const cwd = inRoot(root, '.', state.workdir);
      const run = spawnSync('sh', ['-c', args], {
        cwd,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        env: {
          // the base image's Node (24) first, as node:24-slim has it on PATH
          PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
          HOME: process.env.HOME ?? tmpdir(),
          npm_config_prefer_offline: 'true',
          ...state.env,
        },
      });
      if (run.status !== 0)
        throw new Error(`RUN ${args}\nexited ${run.status}:\n${(run.stdout + run.stderr).slice(-4000)}`);
    } else if (op === 'CMD') state.cmd = JSON.parse(args) as string[];
    else if (op === 'HEALTHCHECK')
      state.healthcheck = JSON.parse(args.slice(args.indexOf('CMD') + 3)) as string[];
    else if (op === 'STOPSIGNAL') state.stopsignal = args.trim();
  }
  return state;
}

describe('the Dockerfile, replayed', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'atrium-image-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('parses continuation lines and comments as Docker does', () => {
    expect(parseDockerfile('# c\nRUN a \\\n # inner\n && b\nENV X=1 Y="2 3"\n')).toEqual([
      { op: 'RUN', args: 'a   && b' },
      { op: 'ENV', args: 'X=1 Y="2 3"' },
    ]);
    expect(parseEnv('X=1 Y="2 3"')).toEqual({ X: '1', Y: '2 3' });
    const ignored = ignoreMatcher(['node_modules', '**/*.spec.ts', '*.md', '.env.*']);
    expect(['node_modules/x', 'apps/a/b.spec.ts', 'README.md', '.env.local'].every(ignored)).toBe(true);
    expect(['apps/a/b.ts', 'docs/x.md', 'scripts/copy-assets.js'].some(ignored)).toBe(false);
  });

  it(
    'builds with the build stage, and the runtime stage starts, answers /health/ready and stops on SIGTERM',
    async () => {
      const all = stages(parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')));
      expect(all.map((s) => s.name)).toEqual(['build', 'runtime']);
      const [buildStage, runtimeStage] = all;
      const build = replay(buildStage, join(scratch, 'build'), ROOT, {}, { run: true });
      const runtime = replay(runtimeStage, join(scratch, 'runtime'), ROOT, { build }, { run: false });
      expect(runtime.cmd?.[0]).toBe('node');
      const cwd = join(runtime.root, runtime.workdir);
      expect(isAbsolute(cwd)).toBe(true);

      const port = await freePort();
      const dataDir = join(scratch, 'data');
      mkdirSync(dataDir);
      // NODE_ENV=production requires a key, as docker-compose.yml and the Kubernetes Secret give one
      const env = {
        PATH: process.env.PATH ?? '',
        ...runtime.env,
        PORT: String(port),
        DATA_DIR: dataDir,
        AUTH_API_KEYS: 'image-replay-key-0123456789=*',
      };
      const child = spawn(process.execPath, runtime.cmd!.slice(1), {
        cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      try {
        let status = 0;
        const deadline = Date.now() + 120_000;
        while (status !== 200 && Date.now() < deadline && child.exitCode === null) {
          status = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
            (r) => r.status,
            () => 0,
          );
          if (status !== 200) await new Promise((r) => setTimeout(r, 200));
        }
        expect({ status, output: status === 200 ? '' : output.slice(-3000) }).toEqual({
          status: 200,
          output: '',
        });

        // the image's HEALTHCHECK command, as Docker runs it inside the container
        const [hcNode, ...hcArgs] = runtime.healthcheck!;
        expect(hcNode).toBe('node');
        const hc = spawnSync(process.execPath, hcArgs, { cwd, env, encoding: 'utf8' });
        expect(hc.status).toBe(0);
      } finally {
        child.kill((runtime.stopsignal ?? 'SIGTERM') as NodeJS.Signals);
      }
      expect(await exited).toBe(0);
    },
    BUILD_MS,
  );
});
