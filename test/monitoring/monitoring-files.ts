// Shared readers for the monitoring-as-code tests: rule files, dashboards, and a small PromQL scanner
// that lists the metric names and label matchers an expression uses.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

export const ROOT = join(__dirname, '..', '..');
export const MONITORING = join(ROOT, 'monitoring');
export const RULES_DIR = join(MONITORING, 'prometheus', 'rules');
export const RULE_TESTS_DIR = join(MONITORING, 'prometheus', 'tests');
export const DASHBOARDS_DIR = join(MONITORING, 'grafana', 'dashboards');
export const RUNBOOKS_DIR = join(MONITORING, 'runbooks');

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  rules: Rule[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- YAML/JSON documents of arbitrary shape
export type Doc = any;

export function yamlFile<T = Doc>(path: string): T {
  return load(readFileSync(path, 'utf8')) as T;
}

export function ruleFiles(): string[] {
  return readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => join(RULES_DIR, f));
}

export function ruleGroups(): RuleGroup[] {
  return ruleFiles().flatMap((f) => yamlFile<{ groups: RuleGroup[] }>(f).groups);
}

export function allRules(): Rule[] {
  return ruleGroups().flatMap((g) => g.rules);
}

export function alertRules(): Rule[] {
  return allRules().filter((r) => r.alert);
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { expr: string; refId: string; datasource?: { uid?: string } }[];
}
export interface Dashboard {
  uid: string;
  title: string;
  refresh?: string;
  time?: { from: string; to: string };
  templating: { list: { name: string; type: string; query?: string }[] };
  panels: Panel[];
}

export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(DASHBOARDS_DIR, f));
}

export function dashboards(): { file: string; dashboard: Dashboard }[] {
  return dashboardFiles().map((file) => ({
    file,
    dashboard: JSON.parse(readFileSync(file, 'utf8')) as Dashboard,
  }));
}

/** Every PromQL query of every dashboard panel, with where it comes from. */
export function dashboardQueries(): { where: string; expr: string }[] {
  return dashboards().flatMap(({ dashboard }) =>
    dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ where: `${dashboard.uid} / ${p.title} / ${t.refId}`, expr: t.expr })),
    ),
  );
}

/** Grafana's interval variables replaced by what Grafana would send with a 15s scrape interval. */
export function grafanaToPromql(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '5m');
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
]);

export interface PromqlRefs {
  /** Metric names, including recorded names (with a colon). */
  metrics: Set<string>;
  /** label matchers: metric name → label names it is filtered on. */
  matchers: { metric: string; label: string }[];
}

/** A deliberately small scanner, good enough for the expressions in this repo (checked by the tests). */
export function promqlRefs(rawExpr: string): PromqlRefs {
  const expr = grafanaToPromql(rawExpr);
  const metrics = new Set<string>();
  const matchers: { metric: string; label: string }[] = [];
  // selectors with label matchers
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g)) {
    const metric = m[1];
    if (!metric || KEYWORDS.has(metric)) continue;
    for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g))
      matchers.push({ metric, label: l[1] });
  }
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(\s*\()?/g)) {
    const name = m[1];
    if (m[2] || KEYWORDS.has(name.toLowerCase())) continue; // a function call or a keyword
    if (/^\d/.test(name)) continue;
    metrics.add(name);
  }
  return { metrics, matchers };
}

/** Metrics that come from Prometheus itself or the exporters, not from the app. */
export const EXTERNAL_METRICS = new Set([
  'up',
  'ALERTS',
  'redis_up',
  'redis_memory_used_bytes',
  'redis_memory_max_bytes',
  'pg_up',
]);

/** Fails loudly when a Prometheus tool is missing: CI installs Debian's prometheus + prometheus-alertmanager. */
export function requireTool(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path)
    throw new Error(
      `${name} is not installed. Install it with: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager`,
    );
  return path;
}

export function run(cmd: string, args: string[]): { status: number; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT, timeout: 60_000 });
  return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export function node(script: string, args: string[] = []): { status: number; output: string } {
  try {
    const out = execFileSync(process.execPath, [join(ROOT, script), ...args], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    return { status: 0, output: out };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { status: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
