// Three tiers (style.md): unit + controller slices beside the code (*.spec.ts), e2e in test/ (*.e2e-spec.ts).
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
    '^@libs/(observability|database|cache)$': '<rootDir>/libs/$1/src',
    '^@libs/(observability|database|cache)/(.*)$': '<rootDir>/libs/$1/src/$2',
  },
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata'],
};
module.exports = {
  testTimeout: 30000, // unit and hostile specs; e2e specs get 60 s from test/support/e2e-timeout.ts
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
