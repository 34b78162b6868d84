// The metrics module's public surface (@app/metrics): metric providers, pool metrics, the live-stats registry, system metrics, the caller-origin route marker (@FetchesCallerUrl).
export * from './live-stats.registry';
export * from './metric-providers';
export * from './pool-metrics';
export * from './system-metrics';
export * from './caller-origin';
