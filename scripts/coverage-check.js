// `npm test` runs Jest three times (issue 21, item 5): the unit project on two workers, the e2e project on two
// workers, then the hostile project one file at a time (beside another hostile file on two busy cores, a
// /health/live poll took 1.3 s while Chromium rendered, and a 19 MiB upload ran past the 300 s headers timeout).
// Jest cannot give projects different worker counts, and its coverage threshold sees one run only, so each run
// writes its coverage (coverage-final.json) to a directory of its own and this merges them: istanbul's own
// coverage map, the reporters and the global threshold of jest.config.js — the same gate as one
// `jest --coverage` run.
// Usage: node scripts/coverage-check.js <coverage dir>...
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { createCoverageMap } = require('istanbul-lib-coverage');
const { createContext } = require('istanbul-lib-report');
const reports = require('istanbul-reports');
const config = require('../jest.config.js');

const root = join(__dirname, '..');
const dirs = process.argv.slice(2);
if (!dirs.length) throw new Error('usage: node scripts/coverage-check.js <coverage dir>...');
const map = createCoverageMap({});
for (const dir of dirs) {
  const file = join(root, dir, 'coverage-final.json');
  if (!existsSync(file))
    throw new Error(`${file} is missing: did that Jest run end before writing coverage?`);
  map.merge(JSON.parse(readFileSync(file, 'utf8')));
}

const context = createContext({ dir: join(root, 'coverage'), coverageMap: map });
for (const name of config.coverageReporters) reports.create(name).execute(context);

const summary = map.getCoverageSummary();
const failed = Object.entries(config.coverageThreshold.global).filter(([key, min]) => summary[key].pct < min);
for (const [key, min] of failed)
  console.error(`Jest: "global" coverage threshold for ${key} (${min}%) not met: ${summary[key].pct}%`);
process.exitCode = failed.length ? 1 : 0;
