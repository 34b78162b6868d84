// "Modules talk through what they export" (docs/architecture.md), on the import graph the TypeScript compiler
// resolves: no feature reaches into another's files, the extraction children's handler modules load nothing
// from outside their feature, and no import cycle (type-only imports included).
import { boundaryViolations, handlerModuleEscapes, importCycles, importGraph } from './import-graph';

describe('module boundaries (apps/ and libs/ import graph)', () => {
  const withTypes = importGraph({ types: true });
  const runtime = importGraph();

  it('resolves the path aliases (the graph is the real one)', () => {
    expect(withTypes.get('apps/api/src/search/search.module.ts')).toEqual(
      expect.arrayContaining(['apps/api/src/extraction/index.ts', 'libs/cache/src/index.ts']),
    );
  });

  it("a feature imports another only through its index.ts, or a child process's script its child.ts (types included)", () => {
    expect(boundaryViolations(withTypes)).toEqual([]);
  });

  it("the extraction children's handler modules import only their own feature at run time", () => {
    const handlers = [...runtime.keys()].filter((f) => f.endsWith('.extraction-jobs.ts'));
    expect(handlers.length).toBeGreaterThanOrEqual(2);
    expect(handlerModuleEscapes(runtime)).toEqual([]);
  });

  it('has no import cycle, at run time or through types (metrics ↔ common, route-scope ↔ tiered-cache were two)', () => {
    expect(importCycles(runtime)).toEqual([]);
    expect(importCycles(withTypes)).toEqual([]);
  });

  it('the checks find what they look for', () => {
    const g = new Map([
      ['apps/api/src/a/a.service.ts', ['apps/api/src/b/b.internal.ts', 'apps/api/src/b/index.ts']],
      ['apps/api/src/b/index.ts', ['apps/api/src/b/b.internal.ts']],
      ['apps/api/src/b/b.internal.ts', ['apps/api/src/a/a.service.ts']],
      ['apps/api/src/a/a.extraction-jobs.ts', ['apps/api/src/b/index.ts', 'apps/api/src/a/x.ts']],
      ['apps/api/src/main.ts', ['apps/api/src/b/b.internal.ts']],
      ['apps/api/src/c/c.worker.ts', ['apps/api/src/b/child.ts']],
    ]);
    expect(boundaryViolations(g)).toEqual([
      'apps/api/src/a/a.service.ts → apps/api/src/b/b.internal.ts',
      'apps/api/src/b/b.internal.ts → apps/api/src/a/a.service.ts',
    ]);
    expect(handlerModuleEscapes(g)).toEqual([
      'apps/api/src/a/a.extraction-jobs.ts → apps/api/src/b/index.ts',
    ]);
    expect(importCycles(g)).toEqual([
      ['apps/api/src/a/a.service.ts', 'apps/api/src/b/b.internal.ts', 'apps/api/src/b/index.ts'],
    ]);
  });
});
