// The import graph of apps/ and libs/ as the TypeScript compiler resolves it (tsconfig.json, its path aliases),
// for the architecture spec. `await import()` (loaded on first use) is left out; `import type` and type-only
// specifiers count only when asked for (`types: true`): they load nothing at run time.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !/\.(e2e-)?spec\.ts$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

function specifiers(file: ts.SourceFile, types: boolean): string[] {
  const out: string[] = [];
  for (const s of file.statements) {
    if (ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier)) {
      const c = s.importClause;
      if (c?.isTypeOnly && !types) continue;
      const named = c?.namedBindings;
      const allTypes =
        c && !c.name && named && ts.isNamedImports(named) && named.elements.length > 0
          ? named.elements.every((e) => e.isTypeOnly)
          : false;
      if (!allTypes || types) out.push(s.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(s) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) {
      if (!s.isTypeOnly || types) out.push(s.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(s) && ts.isExternalModuleReference(s.moduleReference)) {
      const e = s.moduleReference.expression;
      if (ts.isStringLiteral(e)) out.push(e.text);
    }
  }
  return out;
}

/** file (relative to the repository, specs left out) → the repository files it imports. */
export function importGraph(opts: { types?: boolean } = {}): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json could not be read');
  const graph = new Map<string, string[]>();
  for (const path of [...sourceFiles(join(ROOT, 'apps')), ...sourceFiles(join(ROOT, 'libs'))]) {
    const text = ts.sys.readFile(path) ?? '';
    const file = ts.createSourceFile(path, text, ts.ScriptTarget.ES2023, false);
    const deps: string[] = [];
    for (const spec of specifiers(file, opts.types ?? false)) {
      const r = ts.resolveModuleName(spec, path, config.options, ts.sys).resolvedModule;
      if (!r || r.isExternalLibraryImport || r.resolvedFileName.includes('node_modules')) continue;
      deps.push(relative(ROOT, r.resolvedFileName));
    }
    graph.set(relative(ROOT, path), deps);
  }
  return graph;
}

const FEATURE = /^apps\/api\/src\/([^/]+)\//;
const surfaces = (feature: string) => [
  `apps/api/src/${feature}/index.ts`,
  `apps/api/src/${feature}/child.ts`,
];

/**
 * Imports from one feature folder of apps/api/src into another that do not go to the other's index.ts (or its
 * child.ts, the Nest-free surface a child process loads), as "from → to". The composition root
 * (apps/api/src/*.ts) is not a feature and may import anything.
 */
export function boundaryViolations(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, deps] of graph) {
    const own = FEATURE.exec(from)?.[1];
    if (!own) continue;
    for (const to of deps) {
      const other = FEATURE.exec(to)?.[1];
      if (other && other !== own && !surfaces(other).includes(to)) out.push(`${from} → ${to}`);
    }
  }
  return out;
}

/**
 * Runtime imports of the extraction children's handler modules (`*.extraction-jobs.ts`) that leave the
 * handler's feature folder: the child resolves no path alias, so only its own feature's files can load there.
 */
export function handlerModuleEscapes(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, deps] of graph) {
    if (!from.endsWith('.extraction-jobs.ts')) continue;
    const own = FEATURE.exec(from)?.[1];
    for (const to of deps) if (FEATURE.exec(to)?.[1] !== own) out.push(`${from} → ${to}`);
  }
  return out;
}

/** Every cycle of the graph, each once, as the files along it (Tarjan's strongly connected components). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}
