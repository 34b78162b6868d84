// Prometheus and Alertmanager configuration, checked and unit-tested with the real tools
// (promtool, amtool), plus the conventions every alert must follow.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  MONITORING,
  ROOT,
  RULE_TESTS_DIR,
  RUNBOOKS_DIR,
  alertRules,
  allRules,
  dashboardQueries,
  grafanaToPromql,
  promqlRefs,
  requireTool,
  ruleFiles,
  ruleGroups,
  run,
  yamlFile,
  Doc,
} from './monitoring-files';
import { readdirSync } from 'node:fs';
import { startPrometheus, RunningPrometheus } from './prometheus-server';

const PROM_CONFIG = join(MONITORING, 'prometheus', 'prometheus.yml');
const AM_CONFIG = join(MONITORING, 'alertmanager', 'alertmanager.yml');

const BUILDING_ALERTS = [
  'BuildingCacheHitRateLow',
  'BuildingCacheHitRateCritical',
  'BuildingDirectorySlowResponses',
  'BuildingDirectorySlowResponsesCritical',
  'BuildingDirectoryHighErrorRate',
  'BuildingDirectoryHighErrorRateCritical',
  'BuildingDirectoryTimeoutErrors',
  'BuildingValidationFailuresHigh',
  'BuildingValidationFailuresCritical',
  'CoordinateExtractionFailuresHigh',
  'BuildingDenormalizationFailuresHigh',
  'BuildingDirectoryServiceDown',
  'BuildingCacheRedisDown',
  'BuildingDirectoryUnusualTraffic',
];

function ruleTestFiles(): string[] {
  return readdirSync(RULE_TESTS_DIR)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => join(RULE_TESTS_DIR, f));
}

describe('Prometheus configuration (promtool)', () => {
  let promtool: string;
  beforeAll(() => {
    promtool = requireTool('promtool');
  });

  it('promtool check config: prometheus.yml and the rule files it loads are valid', () => {
    const r = run(promtool, ['check', 'config', PROM_CONFIG]);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
    // every rule file is loaded by the config's rule_files glob
    for (const f of ruleFiles()) expect(r.output).toContain(basename(f));
  });

  it('promtool check rules: every rule file is valid', () => {
    const r = run(promtool, ['check', 'rules', ...ruleFiles()]);
    expect(r.status).toBe(0);
    expect(r.output).not.toMatch(/FAILED/);
  });

  it.each(ruleTestFiles().map((f) => [basename(f), f]))('promtool test rules %s passes', (_name, file) => {
    const r = run(promtool, ['test', 'rules', file]);
    if (r.status !== 0) throw new Error(r.output);
    expect(r.output).toContain('SUCCESS');
  });

  it('every alert has a firing case and a quiet case in the promtool tests', () => {
    const fires = new Set<string>();
    const quiet = new Set<string>();
    for (const f of ruleTestFiles()) {
      const doc = yamlFile<{
        tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
      }>(f);
      for (const t of doc.tests)
        for (const a of t.alert_rule_test ?? []) (a.exp_alerts?.length ? fires : quiet).add(a.alertname);
    }
    const names = alertRules().map((r) => r.alert!);
    expect(names.filter((n) => !fires.has(n))).toEqual([]);
    expect(names.filter((n) => !quiet.has(n))).toEqual([]);
  });

  it('burn-rate alerts are tested just above and just below each threshold', () => {
    const text = readFileSync(join(RULE_TESTS_DIR, 'slo.test.yml'), 'utf8');
    for (const kind of ['availability', 'latency'])
      for (const alert of ['FastBurn', 'SlowBurn', 'BudgetErosion']) {
        expect(text).toMatch(new RegExp(`${kind}: [\\d.]+% bad \\(just above ${alert} threshold\\)`));
        expect(text).toMatch(new RegExp(`${kind}: [\\d.]+% bad \\(just below ${alert} threshold\\)`));
      }
  });

  it('every rule expression and dashboard query is valid PromQL for a real Prometheus', async () => {
    let prom: RunningPrometheus | undefined;
    try {
      prom = await startPrometheus({ scrapeTargets: [] });
      const exprs = [
        ...allRules().map((r) => ({ where: r.alert ?? r.record!, expr: r.expr })),
        ...dashboardQueries(),
      ];
      const errors: string[] = [];
      for (const { where, expr } of exprs) {
        const res = await prom.query(grafanaToPromql(expr));
        if (res.status !== 'success') errors.push(`${where}: ${res.error}`);
      }
      expect(errors).toEqual([]);
    } finally {
      await prom?.stop();
    }
  });
});

describe('alert conventions', () => {
  const alerts = alertRules();

  it('has exactly the building directory seed alerts', () => {
    const names = ruleGroups()
      .filter((g) => g.name === 'building-directory.alerts')
      .flatMap((g) => g.rules.map((r) => r.alert));
    expect([...names].sort()).toEqual([...BUILDING_ALERTS].sort());
  });

  it('has the SLO burn-rate alerts (14.4x 1h/5m and 6x 6h/30m page, 1x 3d/6h ticket) for availability and latency', () => {
    const byName = new Map(alerts.map((a) => [a.alert, a]));
    for (const kind of ['Availability', 'Latency']) {
      const budget = kind === 'Availability' ? '0.001' : '0.01';
      const ratio = kind === 'Availability' ? 'slo:api_errors:ratio_rate' : 'slo:api_slow:ratio_rate';
      for (const [name, factor, long, short, severity] of [
        ['FastBurn', '14.4', '1h', '5m', 'critical'],
        ['SlowBurn', '6', '6h', '30m', 'critical'],
        ['BudgetErosion', '1', '3d', '6h', 'warning'],
      ]) {
        const a = byName.get(`Api${kind}${name}`);
        expect(a).toBeDefined();
        expect(a!.expr).toBe(
          `${ratio}${long} > (${factor} * ${budget}) and ${ratio}${short} > (${factor} * ${budget})`,
        );
        expect(a!.labels!.severity).toBe(severity);
      }
    }
  });

  it('has the search, downloader, database, cache, Redis and service-down families', () => {
    const names = alerts.map((a) => a.alert);
    for (const n of [
      'SearchHighErrorRate',
      'DownloaderHighErrorRate',
      'DownloaderSlowResponses',
      'DownloaderConcurrencySaturated',
      'WebhookDeliveryFailures',
      'DatabaseSlowQueries',
      'DatabasePoolUtilisationHigh',
      'CacheHitRateLow',
      'RedisMemoryHigh',
      'AtriumApiDown',
    ])
      expect(names).toContain(n);
    const text = (n: string): string => alerts.find((a) => a.alert === n)!.expr;
    expect(text('DownloaderConcurrencySaturated')).toContain(
      'downloader:concurrency_utilisation:ratio > 0.9',
    );
    expect(text('DatabaseSlowQueries')).toContain('db:query_duration_seconds:p95_5m > 0.2');
    expect(text('DatabasePoolUtilisationHigh')).toContain('db:pool_utilisation:ratio > 0.85');
    expect(text('CacheHitRateLow')).toContain('cache:hit_ratio:rate5m < 0.6');
    expect(text('RedisMemoryHigh')).toContain('redis:memory_utilisation:ratio > 0.85');
  });

  it('alert names are unique', () => {
    const names = alerts.map((a) => a.alert);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it.each(alerts.map((a) => [a.alert!, a]))(
    '%s has severity, family, summary, description and a runbook in the repo',
    (name, a) => {
      expect(['critical', 'warning']).toContain(a.labels?.severity);
      expect(a.labels?.family).toMatch(/^[a-z0-9-]+$/);
      expect(a.annotations?.summary?.length).toBeGreaterThan(10);
      expect(a.annotations?.description?.length).toBeGreaterThan(20);
      expect(a.annotations?.runbook_url).toBe(`monitoring/runbooks/${name}.md`);
      const runbook = join(ROOT, a.annotations!.runbook_url);
      expect(existsSync(runbook)).toBe(true);
      const text = readFileSync(runbook, 'utf8');
      expect(text).toMatch(new RegExp(`^# ${name}\\n`));
      for (const section of ['## What it means', '## How to confirm', '## What to do'])
        expect(text).toContain(section);
      // the runbook quotes the rule as it is now
      expect(text).toContain(a.expr.trim());
    },
  );

  it('has no runbook without an alert', () => {
    const names = new Set(alerts.map((a) => `${a.alert}.md`));
    expect(readdirSync(RUNBOOKS_DIR).filter((f) => !names.has(f))).toEqual([]);
  });

  it('recorded names follow level:metric:operation and are defined once', () => {
    const records = allRules()
      .filter((r) => r.record)
      .map((r) => r.record!);
    for (const r of records) expect(r).toMatch(/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/);
    expect(records.filter((n, i) => records.indexOf(n) !== i)).toEqual([]);
  });

  it('every recorded name used by a rule or dashboard is defined', () => {
    const records = new Set(allRules().flatMap((r) => (r.record ? [r.record] : [])));
    const used = [...allRules().map((r) => r.expr), ...dashboardQueries().map((q) => q.expr)].flatMap((e) => [
      ...promqlRefs(e).metrics,
    ]);
    expect(used.filter((m) => m.includes(':') && !records.has(m))).toEqual([]);
  });
});

describe('Alertmanager configuration (amtool)', () => {
  let amtool: string;
  beforeAll(() => {
    amtool = requireTool('amtool');
  });

  it('amtool check-config is clean', () => {
    const r = run(amtool, ['check-config', AM_CONFIG]);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  const routes: [string, string[], string][] = [
    [
      'a critical alert pages',
      ['severity=critical', 'alertname=BuildingDirectoryServiceDown', 'family=building-directory-errors'],
      'pager',
    ],
    [
      'a warning opens a ticket',
      ['severity=warning', 'alertname=BuildingCacheHitRateLow', 'family=building-cache'],
      'ticket',
    ],
    [
      'an SLO fast burn pages',
      ['severity=critical', 'alertname=ApiAvailabilityFastBurn', 'family=api-availability-slo'],
      'pager',
    ],
    [
      'an SLO budget erosion opens a ticket',
      ['severity=warning', 'alertname=ApiLatencyBudgetErosion', 'family=api-latency-slo'],
      'ticket',
    ],
    ['an alert without severity is never dropped (ticket)', ['alertname=Unknown'], 'ticket'],
  ];
  it.each(routes)('amtool config routes test: %s', (_title, labels, receiver) => {
    const r = run(amtool, [
      'config',
      'routes',
      'test',
      `--config.file=${AM_CONFIG}`,
      `--verify.receivers=${receiver}`,
      ...labels,
    ]);
    if (r.status !== 0) throw new Error(r.output);
    expect(
      r.output
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('Warning'))
        .pop(),
    ).toBe(receiver);
  });

  it('every alert rule routes to pager (critical) or ticket (warning)', () => {
    for (const a of alertRules()) {
      const r = run(amtool, [
        'config',
        'routes',
        'test',
        `--config.file=${AM_CONFIG}`,
        `severity=${a.labels!.severity}`,
        `alertname=${a.alert}`,
      ]);
      expect(r.output).toContain(a.labels!.severity === 'critical' ? 'pager' : 'ticket');
    }
  });

  it('inhibits warnings by criticals of the same family, and every family pairing makes sense', () => {
    const cfg = yamlFile<Doc>(AM_CONFIG);
    expect(cfg.inhibit_rules).toEqual([
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ['family'],
      },
    ]);
    // The pairs this inhibition produces, from the rules themselves.
    const byFamily = new Map<string, { critical: string[]; warning: string[] }>();
    for (const a of alertRules()) {
      const f = byFamily.get(a.labels!.family) ?? { critical: [], warning: [] };
      f[a.labels!.severity as 'critical' | 'warning'].push(a.alert!);
      byFamily.set(a.labels!.family, f);
    }
    const inhibits = (crit: string, warn: string): boolean =>
      [...byFamily.values()].some((f) => f.critical.includes(crit) && f.warning.includes(warn));
    expect(inhibits('BuildingCacheHitRateCritical', 'BuildingCacheHitRateLow')).toBe(true);
    expect(inhibits('BuildingCacheRedisDown', 'BuildingCacheHitRateLow')).toBe(true);
    expect(inhibits('BuildingDirectorySlowResponsesCritical', 'BuildingDirectorySlowResponses')).toBe(true);
    expect(inhibits('BuildingDirectoryHighErrorRateCritical', 'BuildingDirectoryHighErrorRate')).toBe(true);
    expect(inhibits('BuildingDirectoryServiceDown', 'BuildingDirectoryTimeoutErrors')).toBe(true);
    expect(inhibits('BuildingValidationFailuresCritical', 'BuildingValidationFailuresHigh')).toBe(true);
    expect(inhibits('ApiAvailabilityFastBurn', 'ApiAvailabilityBudgetErosion')).toBe(true);
    expect(inhibits('ApiLatencyFastBurn', 'ApiLatencyBudgetErosion')).toBe(true);
    expect(inhibits('DownloaderHighErrorRateCritical', 'DownloaderHighErrorRate')).toBe(true);
    expect(inhibits('AtriumApiDown', 'AtriumApiInstanceDown')).toBe(true);
    expect(inhibits('PostgresDown', 'DatabasePoolUtilisationHigh')).toBe(true);
    // unrelated families never silence each other
    expect(inhibits('AtriumApiDown', 'ExporterDown')).toBe(false);
    expect(inhibits('BuildingCacheRedisDown', 'BuildingDirectoryHighErrorRate')).toBe(false);
    expect(inhibits('ApiAvailabilityFastBurn', 'ApiLatencyBudgetErosion')).toBe(false);
  });

  it('receivers are webhooks; critical and warning notifications go to different endpoints', () => {
    const cfg = yamlFile<Doc>(AM_CONFIG);
    const urls = Object.fromEntries(cfg.receivers.map((r: Doc) => [r.name, r.webhook_configs[0].url]));
    expect(urls.pager).toMatch(/^http:\/\/alert-sink:5001\//);
    expect(urls.ticket).toMatch(/^http:\/\/alert-sink:5001\//);
    expect(urls.pager).not.toBe(urls.ticket);
  });

  it('amtool check-config rejects a broken config (the check is real)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'am-'));
    try {
      const bad = join(dir, 'bad.yml');
      writeFileSync(bad, readFileSync(AM_CONFIG, 'utf8').replace('receiver: pager', 'receiver: nobody'));
      expect(run(amtool, ['check-config', bad]).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
