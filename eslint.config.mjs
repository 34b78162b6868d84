import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Boundaries (docs/architecture.md, "Modules talk through what they export"; the team's style guide: "Path
// aliases @app/…, @libs/…; no relative imports across projects"): cross-project imports go through the path
// aliases.
const aliasOnly = {
  group: ['../../libs/*', '../../../libs/*', '../../../../libs/*', '**/apps/api/src/*'],
  message: 'Use the @libs/… / @app/… aliases.',
};

// Dependencies through their front door (issue 21; docs/architecture.md, "Dependencies through their public
// surface"): a package is imported by its name or a
// subpath its `exports` documents, never by a file inside it. Built trees and internal folders of any package
// (dist, lib, src, build, cjs, esm, internal), and any file below a @nestjs package's root (Nest documents
// its packages' roots only). Subpaths a package documents stay allowed (`rxjs/operators`,
// `@electric-sql/pglite/contrib/<name>`, `node:…`).
const publicEntryPoints = [
  {
    regex: '^(?![.]|@app/|@libs/|node:)(@[^/]+/)?[^/]+/(.+/)?(dist|lib|src|build|cjs|esm|internal)(/|$)',
    message: "A package's internals: import what its entry point (its `exports`) offers.",
  },
  {
    regex: '^@nestjs/[^/]+/.',
    message: 'A file inside a @nestjs package: import from the package root (@nestjs/common, @nestjs/core…).',
  },
];

// Writes to a dependency's prototypes, and pino's private symbols (issue 21).
const noInternalsSyntax = [
  {
    selector:
      "AssignmentExpression > MemberExpression.left > MemberExpression.object[property.name='prototype']",
    message: 'No prototype patches: wrap or configure the dependency through its public API.',
  },
  {
    selector:
      "CallExpression[callee.object.name='Symbol'][callee.property.name='for'][arguments.0.value=/^pino[.]/]",
    message: "pino's symbols are private: use a child logger or the destination's documented options.",
  },
  {
    selector: "MemberExpression[object.property.name='symbols'][object.object.name='pino']",
    message: "pino's symbols are private: use a child logger or the destination's documented options.",
  },
];

// No V8 flags at run time, no undocumented collector (issue 21): flags are given to a process at spawn.
const noRuntimeV8Flags = ['node:v8', 'v8'].map((name) => ({
  name,
  importNames: ['setFlagsFromString'],
  message: 'No V8 flags at run time: pass them at spawn (execArgv), where this Node accepts them.',
}));

// Modules talk through what they export (docs/architecture.md): a feature folder of apps/api/src imports
// another feature as `@app/<feature>` — its index.ts, the surface it chose to export — never a file inside it,
// and never leaves its own folder by a relative path, but to another feature's `child.ts` (its Nest-free surface
// for child processes, which resolve no path alias: `../../extraction/child`). Specs may reach internals (they
// test them); the composition root (apps/api/src/*.ts: main, bootstrap, app.module, http-pipeline, openapi)
// wires anything.
const featureInternals = {
  regex: '^@app/[^/]+/.',
  message:
    "Another feature's internals: import what its index.ts exports (`@app/<feature>`), or export it there (docs/architecture.md).",
};
const leavesFeature = (depth) => ({
  regex: `^(\\.\\./){${depth}}(?![^/]+/child$)`,
  message:
    'A relative import out of this feature folder: import the other feature as `@app/<feature>` (docs/architecture.md).',
});
const restrictedImports = (...extra) => [
  'error',
  { paths: noRuntimeV8Flags, patterns: [aliasOnly, ...publicEntryPoints, ...extra] },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      'no-restricted-imports': restrictedImports(),
      'no-restricted-syntax': ['error', ...noInternalsSyntax],
    },
  },
  {
    files: ['apps/api/src/*/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: { 'no-restricted-imports': restrictedImports(featureInternals, leavesFeature(1)) },
  },
  {
    files: ['apps/api/src/*/*/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: { 'no-restricted-imports': restrictedImports(featureInternals, leavesFeature(2)) },
  },
  {
    files: ['apps/api/src/*/*/*/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: { 'no-restricted-imports': restrictedImports(featureInternals, leavesFeature(3)) },
  },
  {
    // A library stands alone: what it needs from the app comes in through its module options.
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': restrictedImports({
        group: ['@app/*', '@app', '**/apps/**'],
        message: 'libs/ never imports the app: take what you need through forRootAsync options.',
      }),
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
