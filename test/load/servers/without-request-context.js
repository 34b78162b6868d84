// Benchmark only (the per-stage breakdown of test/load/building-benchmark.ts): preloaded with `node -r`
// into the built app, it makes installRequestContext a no-op — no AsyncLocalStorage context, request id
// or X-Request-ID per request — so the cost of that stage can be measured. The request context is not
// a switch of the app: log correlation and X-Request-ID are part of the contract.
'use strict';
const { join } = require('node:path');

const httpContext = require(join(process.env.ATRIUM_DIST, 'libs/observability/src/http-context.js'));
httpContext.installRequestContext = () => undefined;
