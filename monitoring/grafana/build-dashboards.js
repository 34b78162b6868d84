#!/usr/bin/env node
// Generates monitoring/grafana/dashboards/*.json with Grafana's typed builders
// (@grafana/grafana-foundation-sdk, pinned in package.json), so that every board shares the same conventions:
// a `datasource` template variable used by every panel and query, a description and a unit on every panel,
// `$__rate_interval` in every rate()/increase(). The helpers below (ts, stat, heatmap, panel, dashboard) are
// those conventions, each one builder; the boards further down only say what to show. Run
// `node monitoring/grafana/build-dashboards.js` after editing this file and commit the JSON; `--check` exits 1
// when the committed JSON is stale (test/monitoring/dashboards.e2e-spec.ts runs it).
'use strict';
const fs = require('fs');
const path = require('path');
const common = require('@grafana/grafana-foundation-sdk/common');
const dash = require('@grafana/grafana-foundation-sdk/dashboard');
const heatmapPanel = require('@grafana/grafana-foundation-sdk/heatmap');
const prometheus = require('@grafana/grafana-foundation-sdk/prometheus');
const statPanel = require('@grafana/grafana-foundation-sdk/stat');
const tablePanel = require('@grafana/grafana-foundation-sdk/table');
const timeseries = require('@grafana/grafana-foundation-sdk/timeseries');

const OUT = path.join(__dirname, 'dashboards');
const DS = { type: 'prometheus', uid: '${datasource}' };
const RI = '$__rate_interval';
// The SLI excludes probes, scrapes and unmatched routes, exactly as monitoring/prometheus/rules/slo.yml does.
const API = 'route!~"/health.*|/metrics.*|unmatched"';
const DOWNLOADER_ROUTES = 'route=~"/api/v1/(download|batch|jobs).*"';

/** One PromQL query; `extra`: `{ instant: true, format: 'table' | 'heatmap' }`. */
function target(expr, legendFormat, extra = {}) {
  const q = new prometheus.DataqueryBuilder()
    .expr(expr)
    .legendFormat(legendFormat || '__auto')
    .datasource(DS);
  if (extra.instant) q.instant();
  if (extra.format === 'table') q.format(prometheus.PromQueryFormat.Table);
  if (extra.format === 'heatmap') q.format(prometheus.PromQueryFormat.Heatmap);
  return q;
}

/** A thresholds option (`{ mode, steps }`) as the SDK's builder. */
function thresholds({ mode, steps }) {
  return new dash.ThresholdsConfigBuilder()
    .mode(mode === 'percentage' ? dash.ThresholdsMode.Percentage : dash.ThresholdsMode.Absolute)
    .steps(steps);
}

const PANELS = {
  timeseries: timeseries.PanelBuilder,
  stat: statPanel.PanelBuilder,
  heatmap: heatmapPanel.PanelBuilder,
  table: tablePanel.PanelBuilder,
};

/**
 * One panel of `type` (timeseries, stat, heatmap, table) with what every panel has: title, description, unit,
 * the `${datasource}` variable, queries A, B, C… Options: `size` ([w, h] on Grafana's 24-column grid; layout()
 * places panels left to right), `defaults` (min, max, decimals), `thresholds`, `mappings`, `overrides`,
 * `transformations`. Returns { builder, size }; `dashboard()` places and numbers it.
 */
function panel(type, title, description, unit, targets, opts = {}) {
  const b = new PANELS[type]().title(title).description(description).datasource(DS).unit(unit);
  targets.forEach((t, i) => b.withTarget(t.refId(String.fromCharCode(65 + i))));
  const d = opts.defaults || {};
  if (d.min !== undefined) b.min(d.min);
  if (d.max !== undefined) b.max(d.max);
  if (d.decimals !== undefined) b.decimals(d.decimals);
  if (opts.thresholds) b.thresholds(thresholds(opts.thresholds));
  if (opts.mappings) b.mappings(opts.mappings);
  for (const o of opts.overrides || []) b.withOverride(o);
  for (const t of opts.transformations || []) b.withTransformation(t);
  return { builder: b, size: opts.size || [12, 8] };
}

/** A time series: lines (or `custom: { drawStyle: 'bars', fillOpacity, stacking }`), legend below, tooltip of all. */
const ts = (title, description, unit, targets, opts = {}) => {
  const p = panel('timeseries', title, description, unit, targets, opts);
  const custom = opts.custom || {};
  p.builder
    .drawStyle(custom.drawStyle === 'bars' ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .lineWidth(1)
    .fillOpacity(custom.fillOpacity ?? 10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    );
  if (custom.stacking?.mode === 'normal')
    p.builder.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  return p;
};

/** A single value (the last one), coloured by its thresholds; `graphMode: 'none'` drops the sparkline. */
const stat = (title, description, unit, targets, opts = {}) => {
  const p = panel('stat', title, description, unit, targets, {
    size: [6, 4],
    thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] },
    mappings: [],
    ...opts,
  });
  p.builder
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false))
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(opts.graphMode === 'none' ? common.BigValueGraphMode.None : common.BigValueGraphMode.Area)
    .textMode(common.BigValueTextMode.Auto);
  return p;
};

/** A Prometheus histogram's buckets over time (already bucketed: no calculation). */
const heatmap = (title, description, unit, expr) => {
  const p = panel('heatmap', title, description, unit, [target(expr, '{{le}}', { format: 'heatmap' })]);
  p.builder
    .calculate(false)
    .yAxis(new heatmapPanel.YAxisConfigBuilder().unit(unit))
    .cellGap(1)
    .color(
      new heatmapPanel.HeatmapColorOptionsBuilder()
        .mode(heatmapPanel.HeatmapColorMode.Scheme)
        .scheme('Oranges')
        .steps(64),
    )
    // Grafana's heatmap schema says `mode` where the hand-built JSON said `show: true` (its older name)
    .tooltip(
      new heatmapPanel.HeatmapTooltipBuilder().mode(common.TooltipDisplayMode.Single).yHistogram(true),
    );
  return p;
};

const pctThresholds = (warn, crit, lowerIsBad = false) => ({
  mode: 'absolute',
  steps: lowerIsBad
    ? [
        { color: 'red', value: null },
        { color: 'orange', value: crit },
        { color: 'green', value: warn },
      ]
    : [
        { color: 'green', value: null },
        { color: 'orange', value: warn },
        { color: 'red', value: crit },
      ],
});

const upDown = [
  { type: 'value', options: { 0: { text: 'DOWN', color: 'red' }, 1: { text: 'UP', color: 'green' } } },
  { type: 'special', options: { match: 'null', result: { text: 'NO DATA', color: 'orange' } } },
];

/** Options of a stat panel showing an up (1) / down (0) series. */
const upDownStat = {
  mappings: upDown,
  graphMode: 'none',
  thresholds: {
    mode: 'absolute',
    steps: [
      { color: 'red', value: null },
      { color: 'green', value: 1 },
    ],
  },
};

/** Left to right on the 24-column grid; a panel that does not fit starts the next row. */
function layout(panels) {
  let x = 0;
  let y = 0;
  let rowH = 0;
  return panels.map(({ builder, size: [w, h] }, i) => {
    if (x + w > 24) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    builder.id(i + 1).gridPos({ h, w, x, y });
    x += w;
    rowH = Math.max(rowH, h);
    return builder;
  });
}

function dashboard({ uid, title, description, tags, refresh = '30s', from = 'now-1h', panels }) {
  const b = new dash.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['atrium', ...tags])
    .editable()
    .tooltip(dash.DashboardCursorSync.Crosshair)
    .version(1)
    .timezone('browser')
    .refresh(refresh)
    .time({ from, to: 'now' })
    .link(
      new dash.DashboardLinkBuilder('Atrium')
        .type(dash.DashboardLinkType.Dashboards)
        .tags(['atrium'])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    )
    .withVariable(new dash.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'));
  for (const p of layout(panels)) b.withPanel(p);
  return b.build();
}

// ------------------------------------------------------------------------------------------------
// Building directory: the seed's 8 panels, refresh 5s, last 15 minutes.
const buildingDirectory = dashboard({
  uid: 'building-directory-001',
  title: 'Atrium / Building directory',
  description: 'Cached, instrumented client of the upstream building directory (User Service).',
  tags: ['building-directory'],
  refresh: '5s',
  from: 'now-15m',
  panels: [
    ts(
      'Request rate',
      'Building directory operations per second by operation and status (success, not_found, error).',
      'reqps',
      [
        target(
          `sum by (operation, status) (rate(building_directory_requests_total[${RI}]))`,
          '{{operation}} {{status}}',
        ),
      ],
    ),
    ts(
      'Response time p95 / p99',
      'Latency of building directory operations (cache hits included), from building_directory_request_duration_seconds.',
      's',
      [
        target(
          `histogram_quantile(0.95, sum by (le) (rate(building_directory_request_duration_seconds_bucket[${RI}])))`,
          'p95',
        ),
        target(
          `histogram_quantile(0.99, sum by (le) (rate(building_directory_request_duration_seconds_bucket[${RI}])))`,
          'p99',
        ),
      ],
    ),
    ts(
      'Cache operations',
      'Building cache operations per second: hit, miss, set, error, stale (served when the upstream fails), invalidate.',
      'ops',
      [target(`sum by (operation) (rate(building_cache_operations_total[${RI}]))`, '{{operation}}')],
    ),
    ts(
      'Cache hit rate',
      'Share of building cache lookups that were hits: hit / (hit + miss). Alerts at 80% (warning) and 50% (critical).',
      'percentunit',
      [
        target(
          `sum(rate(building_cache_operations_total{operation="hit"}[${RI}])) / sum(rate(building_cache_operations_total{operation=~"hit|miss"}[${RI}]))`,
          'hit rate',
        ),
      ],
      { defaults: { min: 0, max: 1 } },
    ),
    ts(
      'Validation results',
      'Building validations per second by result: valid, invalid_not_found, invalid_inactive, error.',
      'ops',
      [target(`sum by (result) (rate(building_validations_total[${RI}]))`, '{{result}}')],
    ),
    ts(
      'Active connections',
      'Upstream building directory requests in flight right now (building_directory_active_connections), per instance.',
      'short',
      [target('sum by (instance) (building_directory_active_connections)', '{{instance}}')],
    ),
    ts(
      'Error rate by type',
      'Upstream building directory errors per second by type: timeout, http_error, parse_error, unknown.',
      'ops',
      [target(`sum by (error_type) (rate(building_directory_errors_total[${RI}]))`, '{{error_type}}')],
    ),
    ts(
      'Coordinate extraction',
      'Coordinate extractions per second by result and by where the coordinates were found (nested, flat, missing).',
      'ops',
      [
        target(
          `sum by (result, source) (rate(coordinate_extractions_total[${RI}]))`,
          '{{result}} ({{source}})',
        ),
      ],
    ),
  ],
});

// ------------------------------------------------------------------------------------------------
// Downloader: the anchor's 14 panels.
// Failures that are Atrium's to fix (fault atrium|dependency) and those of callers' URLs (fault target), per
// request to the downloader routes — as monitoring/prometheus/rules/downloader.yml counts them.
const dlRequests = `sum(rate(http_requests_total{${DOWNLOADER_ROUTES}}[${RI}]))`;
const dlErrorRatio = `(sum(rate(errors_total{${DOWNLOADER_ROUTES},fault=~"atrium|dependency"}[${RI}])) or vector(0)) / ${dlRequests}`;
const dlTargetRatio = `(sum(rate(errors_total{${DOWNLOADER_ROUTES},fault="target"}[${RI}])) or vector(0)) / ${dlRequests}`;
const downloader = dashboard({
  uid: 'downloader-001',
  title: 'Atrium / Downloader',
  description: 'Safe URL downloader: single downloads, PDF rendering, batch jobs and webhooks.',
  tags: ['downloader'],
  refresh: '10s',
  from: 'now-1h',
  panels: [
    stat(
      'Health score',
      'Derived in PromQL, not read from the app: 100 x (1 - ratio of failures by a fault of Atrium or of a dependency) x (1 - share of pools above 90% utilisation). ' +
        "Callers' URLs failing (fault target: origin 4xx/5xx, timeouts, blocked, too large) do not count. GET /metrics/health-score (app_health_score) is the app's own score over all routes.",
      'percent',
      [
        target(
          `100 * (1 - clamp_max(${dlErrorRatio}, 1)) * (1 - (count((sum by (pool) (downloader_concurrency_active) / (sum by (pool) (downloader_concurrency_limit) > 0)) > 0.9) or vector(0)) / count(sum by (pool) (downloader_concurrency_limit)))`,
          'score',
        ),
      ],
      { thresholds: pctThresholds(90, 70, true), defaults: { min: 0, max: 100 } },
    ),
    stat('Request rate', 'Downloads per second, all formats.', 'reqps', [
      target(`sum(rate(downloader_requests_total[${RI}]))`, 'req/s'),
    ]),
    stat(
      'Error rate',
      "Share of downloader requests that failed by a fault of Atrium or of a dependency (PDF rendering, full pools, the job queue: what alerts count), and share failed by the caller's URL (fault target: its origin failing, timeouts, blocked, too large; not alerted on).",
      'percentunit',
      [target(dlErrorRatio, 'Atrium or dependency'), target(dlTargetRatio, "callers' URLs")],
      {
        thresholds: pctThresholds(0.1, 0.3),
      },
    ),
    stat(
      'p95 response time',
      '95th percentile of download time, all formats.',
      's',
      [
        target(
          `histogram_quantile(0.95, sum by (le) (rate(downloader_response_time_seconds_bucket[${RI}])))`,
          'p95',
        ),
      ],
      { thresholds: pctThresholds(10, 20) },
    ),
    ts(
      'Request volume',
      'Downloads per interval by format and status.',
      'short',
      [
        target(
          `sum by (format, status) (increase(downloader_requests_total[${RI}]))`,
          '{{format}} {{status}}',
        ),
      ],
      { custom: { drawStyle: 'bars', fillOpacity: 80, stacking: { mode: 'normal' } } },
    ),
    heatmap(
      'Latency distribution',
      'Distribution of download times (downloader_response_time_seconds buckets).',
      's',
      `sum by (le) (rate(downloader_response_time_seconds_bucket[${RI}]))`,
    ),
    ts(
      'Concurrency utilisation',
      'Active / limit per pool (download, pdf, batch). Alert above 90% for 5 minutes.',
      'percentunit',
      [
        target(
          'sum by (pool) (downloader_concurrency_active) / (sum by (pool) (downloader_concurrency_limit) > 0)',
          '{{pool}}',
        ),
      ],
      { defaults: { min: 0, max: 1 } },
    ),
    ts(
      'Connection pools',
      'Active slots and limits of each downloader pool, summed over instances.',
      'short',
      [
        target('sum by (pool) (downloader_concurrency_active)', '{{pool}} active'),
        target('sum by (pool) (downloader_concurrency_limit)', '{{pool}} limit'),
      ],
    ),
    ts(
      'Status codes',
      'HTTP responses of the downloader routes (/api/v1/download, /batch, /jobs) per second by status code.',
      'reqps',
      [
        target(
          `sum by (status_code) (rate(http_requests_total{${DOWNLOADER_ROUTES}}[${RI}]))`,
          '{{status_code}}',
        ),
      ],
    ),
    panel(
      'table',
      'Per-route table',
      'Request rate, 5xx ratio and p95 latency of each downloader route.',
      'short',
      [
        target(`sum by (method, route) (rate(http_requests_total{${DOWNLOADER_ROUTES}}[${RI}]))`, '', {
          instant: true,
          format: 'table',
        }),
        target(
          `(sum by (method, route) (rate(http_requests_total{${DOWNLOADER_ROUTES},status_code=~"5.."}[${RI}])) or (sum by (method, route) (rate(http_requests_total{${DOWNLOADER_ROUTES}}[${RI}])) * 0)) / sum by (method, route) (rate(http_requests_total{${DOWNLOADER_ROUTES}}[${RI}]))`,
          '',
          { instant: true, format: 'table' },
        ),
        target(
          `histogram_quantile(0.95, sum by (method, route, le) (rate(http_request_duration_seconds_bucket{${DOWNLOADER_ROUTES}}[${RI}])))`,
          '',
          {
            instant: true,
            format: 'table',
          },
        ),
      ],
      {
        size: [24, 8],
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: { 'Value #A': 'req/s', 'Value #B': '5xx ratio', 'Value #C': 'p95' },
            },
          },
        ],
        overrides: [
          { matcher: { id: 'byName', options: 'req/s' }, properties: [{ id: 'unit', value: 'reqps' }] },
          {
            matcher: { id: 'byName', options: '5xx ratio' },
            properties: [{ id: 'unit', value: 'percentunit' }],
          },
          { matcher: { id: 'byName', options: 'p95' }, properties: [{ id: 'unit', value: 's' }] },
        ],
      },
    ),
    stat(
      'Uptime',
      'Time since the youngest API process started (process_start_time_seconds of the targets that export app_info).',
      's',
      [target('time() - max(process_start_time_seconds and on (instance, job) app_info)', 'uptime')],
      { graphMode: 'none' },
    ),
    stat('In-flight requests', 'HTTP requests being served right now, all instances.', 'short', [
      target('sum(http_requests_in_flight)', 'in flight'),
    ]),
    stat(
      'Redis status',
      'redis_exporter: is Redis (cache L2, rate limits, job queue) up?',
      'none',
      [target('min(redis_up)', 'redis')],
      upDownStat,
    ),
    stat(
      'HTTP client status',
      'Outbound HTTP requests in flight: downloads (download pool) and building directory upstream calls.',
      'short',
      [
        target('sum(downloader_concurrency_active{pool="download"})', 'downloads'),
        target('sum(building_directory_active_connections)', 'building directory'),
      ],
    ),
  ],
});

// ------------------------------------------------------------------------------------------------
const search = dashboard({
  uid: 'search-001',
  title: 'Atrium / Search',
  description: 'Document stores, uploads and full-text search.',
  tags: ['search'],
  panels: [
    ts('Search rate', 'Searches per second by status and cache outcome (hit, miss, bypass).', 'reqps', [
      target(`sum by (status, cache) (rate(search_requests_total[${RI}]))`, '{{status}} / {{cache}}'),
    ]),
    ts('Search latency', 'p50 / p95 / p99 of search_duration_seconds.', 's', [
      target(`histogram_quantile(0.5, sum by (le) (rate(search_duration_seconds_bucket[${RI}])))`, 'p50'),
      target(`histogram_quantile(0.95, sum by (le) (rate(search_duration_seconds_bucket[${RI}])))`, 'p95'),
      target(`histogram_quantile(0.99, sum by (le) (rate(search_duration_seconds_bucket[${RI}])))`, 'p99'),
    ]),
    ts(
      'Search error ratio',
      'Share of searches with status="error". Alert above 5% for 10 minutes.',
      'percentunit',
      [
        target(
          `(sum(rate(search_requests_total{status="error"}[${RI}])) or vector(0)) / sum(rate(search_requests_total[${RI}]))`,
          'errors',
        ),
      ],
    ),
    ts(
      'Search cache hit ratio',
      'Share of searches answered from the result cache (search_requests_total{cache="hit"}).',
      'percentunit',
      [
        target(
          `(sum(rate(search_requests_total{cache="hit"}[${RI}])) or vector(0)) / sum(rate(search_requests_total[${RI}]))`,
          'hit ratio',
        ),
      ],
      { defaults: { min: 0, max: 1 } },
    ),
    ts(
      'Results per search',
      'p50 / p95 of the number of results per search (search_results_count).',
      'short',
      [
        target(`histogram_quantile(0.5, sum by (le) (rate(search_results_count_bucket[${RI}])))`, 'p50'),
        target(`histogram_quantile(0.95, sum by (le) (rate(search_results_count_bucket[${RI}])))`, 'p95'),
      ],
    ),
    ts(
      'Search answers',
      'Answers per second (answer=extractive|generate) by kind and outcome: success, empty (answer null), unavailable (no model configured), error (502), timeout (504), aborted (the client left a stream).',
      'ops',
      [target(`sum by (kind, outcome) (rate(search_answers_total[${RI}]))`, '{{kind}} / {{outcome}}')],
    ),
    ts(
      'Embedding requests',
      'Embedding requests per second by provider (local model child, openai-compatible server) and status: each a batch of passages of the background indexer, or a query vector on a cache miss.',
      'ops',
      [
        target(
          `sum by (provider, status) (rate(embedding_requests_total[${RI}]))`,
          '{{provider}} / {{status}}',
        ),
      ],
    ),
    ts(
      'Embedding p95',
      'p95 duration of one embedding request (a batch of passages, or a query) by provider.',
      's',
      [
        target(
          `histogram_quantile(0.95, sum by (le, provider) (rate(embedding_duration_seconds_bucket[${RI}])))`,
          'p95 {{provider}}',
        ),
      ],
    ),
    ts(
      'Embedding queue',
      'Passages still waiting for the configured model (embedding_queue_depth): a queue that only grows means the model cannot keep up with uploads.',
      'short',
      [target('sum(embedding_queue_depth)', 'passages waiting')],
    ),
    ts(
      'Uploads',
      'Uploaded files per second by status: success, rejected (size, type, name), failure.',
      'ops',
      [target(`sum by (status) (rate(file_uploads_total[${RI}]))`, '{{status}}')],
    ),
    ts('Upload size p95', '95th percentile of uploaded file size.', 'bytes', [
      target(`histogram_quantile(0.95, sum by (le) (rate(file_upload_size_bytes_bucket[${RI}])))`, 'p95'),
    ]),
    ts('Upload duration p95', '95th percentile of the time to store and index an upload.', 's', [
      target(
        `histogram_quantile(0.95, sum by (le) (rate(file_upload_duration_seconds_bucket[${RI}])))`,
        'p95',
      ),
    ]),
    stat('Stores', 'Number of document stores (search_stores, max over instances).', 'short', [
      target('max(search_stores)', 'stores'),
    ]),
    stat('Documents', 'Number of documents in all stores (search_documents, max over instances).', 'short', [
      target('max(search_documents)', 'documents'),
    ]),
  ],
});

// ------------------------------------------------------------------------------------------------
const dbCache = dashboard({
  uid: 'database-cache-001',
  title: 'Atrium / Database & cache',
  description:
    'Postgres/PGlite queries and pool, the tiered cache (L1 in-process, L2 Redis), and Redis itself.',
  tags: ['database', 'cache'],
  panels: [
    ts(
      'Query p95 by operation',
      '95th percentile of db_query_duration_seconds per operation. Alert above 200ms for 10 minutes.',
      's',
      [
        target(
          `histogram_quantile(0.95, sum by (operation, le) (rate(db_query_duration_seconds_bucket[${RI}])))`,
          '{{operation}}',
        ),
      ],
    ),
    heatmap(
      'Query duration heatmap',
      'Distribution of database query durations (db_query_duration_seconds buckets).',
      's',
      `sum by (le) (rate(db_query_duration_seconds_bucket[${RI}]))`,
    ),
    ts('Query rate', 'Queries per second by operation and table.', 'ops', [
      target(
        `sum by (operation, table) (rate(db_query_duration_seconds_count[${RI}]))`,
        '{{operation}} {{table}}',
      ),
    ]),
    ts(
      'Pool connections',
      'Database pool connections by state (active, idle, waiting, total), summed over instances.',
      'short',
      [target('sum by (state) (db_pool_connections)', '{{state}}')],
    ),
    ts(
      'Pool utilisation',
      'Active / total pool connections per instance. Alert above 85% for 5 minutes.',
      'percentunit',
      [
        target(
          'sum by (instance) (db_pool_connections{state="active"}) / (sum by (instance) (db_pool_connections{state="total"}) > 0)',
          '{{instance}}',
        ),
      ],
      { defaults: { min: 0, max: 1 } },
    ),
    stat(
      'Postgres',
      'postgres_exporter: can it reach Postgres? (No data in embedded PGlite mode.)',
      'none',
      [target('min(pg_up)', 'postgres')],
      upDownStat,
    ),
    stat('Redis', 'redis_exporter: is Redis up?', 'none', [target('min(redis_up)', 'redis')], upDownStat),
    ts(
      'Cache hit ratio',
      'Hits / (hits + misses) per cache level and key type. Alert below 60% for 15 minutes.',
      'percentunit',
      [
        target(
          `sum by (cache_level, key_type) (rate(cache_hits_total[${RI}])) / (sum by (cache_level, key_type) (rate(cache_hits_total[${RI}])) + sum by (cache_level, key_type) (rate(cache_misses_total[${RI}])))`,
          '{{cache_level}} {{key_type}}',
        ),
      ],
      { defaults: { min: 0, max: 1 } },
    ),
    ts(
      'Cache operations',
      'Cache operations per second by level, operation and result (ok, error, timeout).',
      'ops',
      [
        target(
          `sum by (cache_level, operation, result) (rate(cache_operations_total[${RI}]))`,
          '{{cache_level}} {{operation}} {{result}}',
        ),
      ],
    ),
    ts('Cache operation p95', '95th percentile of cache operation time per level and operation.', 's', [
      target(
        `histogram_quantile(0.95, sum by (cache_level, operation, le) (rate(cache_operation_duration_seconds_bucket[${RI}])))`,
        '{{cache_level}} {{operation}}',
      ),
    ]),
    ts('L1 cache size', 'Entries in the in-process L1 cache per key type and instance.', 'short', [
      target('sum by (instance, key_type) (cache_size{cache_level="l1"})', '{{instance}} {{key_type}}'),
    ]),
    ts(
      'Redis memory',
      'Redis memory used / maxmemory. Alert above 85% for 10 minutes (no data when maxmemory is unset).',
      'percentunit',
      [target('redis_memory_used_bytes / (redis_memory_max_bytes > 0)', '{{instance}}')],
      { defaults: { min: 0, max: 1 } },
    ),
  ],
});

// ------------------------------------------------------------------------------------------------
// Overview / SLO. The burn-rate panels use the recorded SLO ratios, whose windows (5m, 1h, 6h, 3d) are
// fixed on purpose: a burn rate is defined over a fixed window, and they must match the alerts.
const overview = dashboard({
  uid: 'atrium-overview-001',
  title: 'Atrium / Overview & SLO',
  description:
    'Service health at a glance: SLOs (99.9% availability, 99% under 500ms), traffic, errors, latency, saturation.',
  tags: ['overview', 'slo'],
  panels: [
    stat(
      'Availability (1h)',
      'Share of API requests (probes and scrapes excluded) that did not fail by a fault of Atrium or of a dependency (errors_total{fault=~"atrium|dependency"}) over the last hour; callers\' bad requests and failing URLs do not count. Objective 99.9%. Fixed 1h window: recorded SLI.',
      'percentunit',
      [target('1 - slo:api_errors:ratio_rate1h', 'availability')],
      { thresholds: pctThresholds(0.999, 0.99, true), defaults: { decimals: 3 } },
    ),
    stat(
      'Latency SLI (1h)',
      "Share of API requests completed within 500ms over the last hour (the download route, whose time is the caller's origin's, is left out). Objective 99%. Fixed 1h window: recorded SLI.",
      'percentunit',
      [target('1 - slo:api_slow:ratio_rate1h', 'fast enough')],
      { thresholds: pctThresholds(0.99, 0.95, true), defaults: { decimals: 2 } },
    ),
    stat(
      'Error budget remaining (3d)',
      'Availability error budget left over the last 3 days: 1 - (bad ratio / 0.1%). Fixed 3d window: recorded SLI.',
      'percentunit',
      [target('1 - slo:api_errors:ratio_rate3d / 0.001', 'budget left')],
      { thresholds: pctThresholds(0.5, 0, true) },
    ),
    stat(
      'Firing alerts',
      'Alerts currently firing for this service (Prometheus ALERTS series).',
      'short',
      [target('count(ALERTS{alertstate="firing"}) or vector(0)', 'firing')],
      {
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'green', value: null },
            { color: 'red', value: 1 },
          ],
        },
        graphMode: 'none',
      },
    ),
    ts(
      'Availability burn rate',
      'Bad ratio / error budget (0.1%) over the alert windows. Pages at 14.4x (1h and 5m) and 6x (6h and 30m); ticket at 1x (3d and 6h). Fixed windows by definition.',
      'x',
      [
        target('slo:api_errors:ratio_rate5m / 0.001', '5m'),
        target('slo:api_errors:ratio_rate1h / 0.001', '1h'),
        target('slo:api_errors:ratio_rate6h / 0.001', '6h'),
        target('slo:api_errors:ratio_rate3d / 0.001', '3d'),
      ],
    ),
    ts(
      'Latency burn rate',
      'Slow ratio (> 500ms) / error budget (1%) over the alert windows. Same thresholds as availability. Fixed windows by definition.',
      'x',
      [
        target('slo:api_slow:ratio_rate5m / 0.01', '5m'),
        target('slo:api_slow:ratio_rate1h / 0.01', '1h'),
        target('slo:api_slow:ratio_rate6h / 0.01', '6h'),
        target('slo:api_slow:ratio_rate3d / 0.01', '3d'),
      ],
    ),
    ts(
      'Request rate by route',
      'API requests per second by route template (probes and scrapes excluded).',
      'reqps',
      [target(`sum by (route) (rate(http_requests_total{${API}}[${RI}]))`, '{{route}}')],
    ),
    ts('Responses by status code', 'API responses per second by status code.', 'reqps', [
      target(`sum by (status_code) (rate(http_requests_total{${API}}[${RI}]))`, '{{status_code}}'),
    ]),
    ts('p95 latency by route', '95th percentile of http_request_duration_seconds per route.', 's', [
      target(
        `histogram_quantile(0.95, sum by (route, le) (rate(http_request_duration_seconds_bucket{${API}}[${RI}])))`,
        '{{route}}',
      ),
    ]),
    ts(
      'Errors by fault and type',
      "Error answers per second by whose fault (atrium, dependency: counted by the SLO; target: a caller's URL; client: the caller's request) and error family (validation, auth, not_found, upstream, internal...).",
      'ops',
      [target(`sum by (fault, type) (rate(errors_total[${RI}]))`, '{{fault}} {{type}}')],
    ),
    ts('Rate-limited requests', 'Requests refused with 429 per second, by route.', 'reqps', [
      target(`sum by (route) (rate(rate_limit_exceeded_total[${RI}]))`, '{{route}}'),
    ]),
    ts('In-flight requests', 'HTTP requests being served right now, per instance.', 'short', [
      target('sum by (instance) (http_requests_in_flight)', '{{instance}}'),
    ]),
    ts('CPU', 'CPU used by each API process (cores) and the host CPU usage the app reports.', 'percentunit', [
      target(
        `sum by (instance) (rate(process_cpu_seconds_total[${RI}]) and on (instance, job) app_info)`,
        '{{instance}} process (cores)',
      ),
      target('max by (instance) (system_cpu_usage_percent) / 100', '{{instance}} system'),
    ]),
    ts('Memory', 'Resident memory and V8 heap used of each API process.', 'bytes', [
      target('process_resident_memory_bytes and on (instance, job) app_info', '{{instance}} RSS'),
      target('sum by (instance) (nodejs_heap_size_used_bytes)', '{{instance}} heap used'),
    ]),
    ts('Event loop lag p99', 'p99 event-loop lag of each API process (prom-client default metric).', 's', [
      target('max by (instance) (nodejs_eventloop_lag_p99_seconds)', '{{instance}}'),
    ]),
    ts(
      'Shared pools: wait for a slot (p95)',
      'p95 time requests waited for a slot of each shared pool (download, pdf, batch, extraction, database: pool_wait_seconds), all tenants together. Which tenant waited is in the logs (context Pools).',
      's',
      [
        target(
          `histogram_quantile(0.95, sum by (pool, le) (rate(pool_wait_seconds_bucket[${RI}])))`,
          '{{pool}}',
        ),
      ],
    ),
    ts('Disk and memory usage', 'System memory and DATA_DIR volume usage reported by the app.', 'percent', [
      target('max by (instance) (system_memory_usage_percent)', '{{instance}} memory'),
      target('max by (instance) (system_disk_usage_percent)', '{{instance}} disk (DATA_DIR)'),
    ]),
    panel(
      'table',
      'Versions',
      'Running versions per instance (app_info).',
      'none',
      [target('max by (instance, version, node_version) (app_info)', '', { instant: true, format: 'table' })],
      {
        size: [24, 5],
        transformations: [{ id: 'organize', options: { excludeByName: { Time: true, Value: true } } }],
      },
    ),
  ],
});

const dashboards = {
  'building-directory.json': buildingDirectory,
  'downloader.json': downloader,
  'search.json': search,
  'database-cache.json': dbCache,
  'overview.json': overview,
};

function render() {
  return Object.fromEntries(
    Object.entries(dashboards).map(([f, d]) => [f, JSON.stringify(d, null, 2) + '\n']),
  );
}

if (require.main === module) {
  const files = render();
  const check = process.argv.includes('--check');
  let stale = [];
  for (const [file, text] of Object.entries(files)) {
    const p = path.join(OUT, file);
    if (check) {
      if (!fs.existsSync(p) || fs.readFileSync(p, 'utf8') !== text) stale.push(file);
    } else {
      fs.writeFileSync(p, text);
    }
  }
  const extra = fs.readdirSync(OUT).filter((f) => f.endsWith('.json') && !(f in files));
  stale = stale.concat(extra.map((f) => `${f} (not generated)`));
  if (check && stale.length) {
    console.error(`stale dashboards: ${stale.join(', ')}; run node monitoring/grafana/build-dashboards.js`);
    process.exit(1);
  }
  if (!check)
    console.log(`wrote ${Object.keys(files).length} dashboards to ${path.relative(process.cwd(), OUT)}`);
}

module.exports = { render };
