// Three test tiers (docs/architecture.md, "Tests"): unit + controller slices beside the code (*.spec.ts), e2e in test/ (*.e2e-spec.ts), hostile against the built app (test/hostile/).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];
// ESM-only packages that Jest's CommonJS loader cannot require are transformed too.
const esmOnly = [
  'css-what',
  'file-type',
  'strtok3',
  'token-types',
  'peek-readable',
  '@tokenizer',
  'uint8array-extras',
  '@borewit',
  'p-limit',
  'yocto-queue',
];
const common = {
  moduleFileExtensions: ['ts', 'js', 'json', 'mjs'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@app/(.*)$': '<rootDir>/apps/api/src/$1',
    '^@libs/(observability|database|cache|scheduling)$': '<rootDir>/libs/$1/src',
    '^@libs/(observability|database|cache|scheduling)/(.*)$': '<rootDir>/libs/$1/src/$2',
  },
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata', '<rootDir>/test/support/quiet-nest-logger.ts'],
};
module.exports = {
  testTimeout: 30000, // unit and hostile specs; e2e specs get 60 s from test/support/e2e-timeout.ts
  // Coverage (`npm test` runs Jest with --coverage, so `bash .ci/run` fails under the thresholds): V8's own
  // coverage of the code as Node runs it, over every source file of apps/ and libs/ — a file no test loads
  // counts as 0 %. Excluded is only what runs in child processes alone, which Jest's coverage does not follow:
  coverageProvider: 'v8',
  collectCoverageFrom: [
    '<rootDir>/apps/**/*.ts',
    '<rootDir>/libs/**/*.ts',
    '!**/*.spec.ts',
    '!**/*.d.ts',
    // the process entry point (config → createApp → listen, signals): the tests run it as a child process
    // (test/support/child-app.ts, the hostile tier, the README walkthrough); createApp itself is measured
    '!<rootDir>/apps/api/src/main.ts',
    // the backup/restore command (npm run data:backup|data:restore): the tests run it as a child process
    // (test/database/data-dir-lock.e2e-spec.ts); the lock it takes is measured by its unit spec
    '!<rootDir>/apps/api/src/data-cli.ts',
    // the extraction child's IPC loop (ExtractionPool forks it); the parsers it calls (worker/jobs.ts) are
    // measured in-process by jobs.spec.ts
    '!<rootDir>/apps/api/src/extraction/worker/extraction.worker.ts',
    // the IPC loop every pool child runs (serveJobs); child-loop.spec.ts drives it in real children
    '!<rootDir>/apps/api/src/extraction/worker/child-loop.ts',
    // the PGlite child's request loop (PgliteDatabase forks it); the parent side is measured
    '!<rootDir>/libs/database/src/pglite.worker.ts',
    // the browser host (PdfRenderer forks it; playwright runs there); the parent side is measured
    '!<rootDir>/apps/api/src/downloader/pdf/browser.worker.ts',
  ],
  coverageThreshold: { global: { lines: 90, branches: 80 } },
  coverageReporters: ['text-summary', 'json-summary'],
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/apps/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/hostile/'],
      // a project's `testTimeout` is ignored by Jest 30 (top level only): the e2e default is set here instead
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-timeout.ts'],
      // one migrated embedded database per run, copied into each app's DATA_DIR (test/support/pglite-template.ts)
      globalSetup: '<rootDir>/test/support/e2e-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/e2e-global-teardown.ts',
    },
    // Hostile input against the built app in a child process (test/hostile/harness.ts); the globalSetup
    // compiles the app once per run. Files set their own timeout (jest.setTimeout): Jest 30 ignores a
    // project-level testTimeout.
    {
      ...common,
      displayName: 'hostile',
      testMatch: ['<rootDir>/test/hostile/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/hostile/global-setup.ts',
    },
  ],
};
