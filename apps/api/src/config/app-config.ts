import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigValidationError, describeSchemaErrors, problemLines } from './config-errors';
import { EnvironmentVariables } from './env.schema';

export { ConfigValidationError };

export interface ApiKeyBinding {
  key: string;
  /** A tenant id, or '*' for every tenant. */
  tenant: string;
}

/**
 * The one typed configuration object. Built once from the environment at startup (or directly
 * in tests with `buildConfig({...})`); nothing else reads process.env.
 */
export class AppConfig {
  readonly env: 'development' | 'production' | 'test';
  readonly version: string;
  /** Variables a release retired that are still set (RETIRED_VARIABLES): the startup log warns about each. */
  readonly retired: Array<{ name: string; advice: string }>;
  readonly http: {
    port: number;
    host: string;
    /** Fastify's trustProxy: false (the socket's address), a hop count, or the trusted proxies' addresses/CIDRs. */
    trustProxy: TrustProxy;
    bodyLimitBytes: number;
    jsonMaxDepth: number;
    bodyIdleTimeoutMs: number;
    bodyMinBytesPerSecond: number;
    headersReadTimeoutMs: number;
    headersMaxBytes: number;
    urlMaxLength: number;
    shutdownTimeoutMs: number;
    shutdownDrainMs: number;
  };
  readonly log: { level: string; format: 'json' | 'pretty'; accessLog: boolean };
  readonly metrics: { enabled: boolean; windowMs: number };
  readonly health: {
    timeoutMs: number;
    heapMaxBytes: number;
    diskThreshold: number;
    eventLoopLagMaxMs: number;
  };
  readonly dataDir: string;
  readonly auth: {
    keys: ApiKeyBinding[];
    disabled: boolean;
    defaultTenantId: string;
    open: boolean;
    failureLimit: number;
    failureWindowMs: number;
  };
  readonly rateLimit: {
    enabled: boolean;
    windowMs: number;
    default: number;
    search: number;
    upload: number;
    download: number;
    batch: number;
    syncIntervalMs: number;
    localShare: number;
  };
  readonly database: { url?: string; poolMax: number; statementTimeoutMs: number };
  readonly redis: { url?: string };
  readonly cache: { opTimeoutMs: number; l1MaxEntries: number; l1MaxBytes: number };
  readonly buildingDirectory: {
    url?: string;
    token?: string;
    file: string;
    timeoutMs: number;
    connectTimeoutMs: number;
    retries: number;
    connections: number;
    cacheEnabled: boolean;
    cacheTtlMs: number;
    negativeTtlMs: number;
    staleTtlMs: number;
    webhookSecret?: string;
  };
  readonly search: {
    maxFiles: number;
    maxFileBytes: number;
    cacheTtlMs: number;
    queryMaxChars: number;
    queryMaxTerms: number;
    statementTimeoutMs: number;
    chunkChars: number;
    chunkOverlapChars: number;
    /** UPLOAD_MEMORY_BUDGET_MB in bytes, and UPLOAD_MEMORY_WAIT_MS. */
    uploadMemoryBudgetBytes: number;
    uploadMemoryWaitMs: number;
  };
  /** ANSWER_*: search answers (url and model set: answer=generate is on). */
  readonly answers: {
    url?: string;
    model?: string;
    apiKey?: string;
    timeoutMs: number;
    maxTokens: number;
    maxPassages: number;
    maxChars: number;
    /** answer=generate chat requests in flight in this process (ANSWER_CONCURRENCY). */
    concurrency: number;
    /** Longest wait for one of them (ANSWER_QUEUE_WAIT_MS). */
    queueWaitMs: number;
  };
  /** EMBEDDINGS_*: who turns passages and queries into vectors (README "Semantic search"). */
  readonly embeddings: {
    provider: 'local' | 'openai' | 'off';
    /** The openai provider's base URL without a trailing slash or `/v1`. */
    url?: string;
    /** The openai provider's model; the local provider's is fixed (LOCAL_EMBEDDINGS_MODEL). */
    model?: string;
    apiKey?: string;
    batch: number;
    timeoutMs: number;
    retries: number;
    concurrency: number;
    workerRssMb: number;
    /** EMBEDDINGS_INDEX_MB: vectors the vector index's child holds (its RSS limit adds VECTOR_INDEX_OVERHEAD_MB). */
    indexMb: number;
    /** Without a mode, hybrid only on stores of at most this many embedded passages. */
    defaultHybridMaxPassages: number;
  };
  readonly extraction: {
    workers: number;
    workerHeapMb: number;
    workerRssMb: number;
    timeoutMs: number;
    cpuMs: number;
    queueMax: number;
    idleMs: number;
    maxTextChars: number;
    zip: { maxEntries: number; maxUncompressedBytes: number; maxRatio: number };
  };
  /** POOL_TENANT_SHARE: the share of every shared pool (and its waiting room) one tenant may hold. */
  readonly pools: { tenantShare: number };
  readonly downloader: {
    maxBytes: number;
    connectTimeoutMs: number;
    timeoutMs: number;
    allowPrivate: boolean;
    /** DOWNLOAD_USER_AGENT, with "(+DOWNLOAD_CONTACT_URL)" when set. */
    userAgent: string;
    /** obey | ignore (DOWNLOAD_ROBOTS). */
    robots: 'obey' | 'ignore';
    robotsTtlMs: number;
    hostConcurrency: number;
    hostDelayMs: number;
    hostMaxWaitMs: number;
    crawlMaxPages: number;
    concurrency: number;
    retries: number;
    cacheTtlMs: number;
    chromiumPath?: string;
    pdfConcurrency: number;
    batchMaxUrls: number;
    batchWorkerConcurrency: number;
    jobTtlMs: number;
    webhookSecret?: string;
    webhookMaxAttempts: number;
    webhookTimeoutMs: number;
  };

  constructor(
    e: EnvironmentVariables,
    version: string,
    retired: Array<{ name: string; advice: string }> = [],
  ) {
    this.env = e.NODE_ENV;
    this.version = version;
    this.retired = retired;
    this.http = {
      port: e.PORT,
      host: e.HOST,
      trustProxy: parseTrustProxy(e.TRUST_PROXY) as TrustProxy,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      jsonMaxDepth: e.BODY_JSON_MAX_DEPTH,
      bodyIdleTimeoutMs: e.BODY_IDLE_TIMEOUT_MS,
      bodyMinBytesPerSecond: e.BODY_MIN_BYTES_PER_SECOND,
      headersReadTimeoutMs: e.HEADERS_READ_TIMEOUT_MS,
      headersMaxBytes: e.HEADERS_MAX_BYTES,
      urlMaxLength: e.URL_MAX_LENGTH,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    };
    this.log = {
      level: e.LOG_LEVEL,
      format: e.LOG_FORMAT ?? (e.NODE_ENV === 'development' ? 'pretty' : 'json'),
      accessLog: e.ACCESS_LOG_ENABLED,
    };
    this.metrics = { enabled: e.METRICS_ENABLED, windowMs: e.METRICS_WINDOW_MS };
    this.health = {
      timeoutMs: e.HEALTH_CHECK_TIMEOUT_MS,
      heapMaxBytes: e.HEALTH_MEMORY_HEAP_MAX_BYTES,
      diskThreshold: e.HEALTH_DISK_THRESHOLD,
      eventLoopLagMaxMs: e.HEALTH_EVENT_LOOP_LAG_MAX_MS,
    };
    this.dataDir = isAbsolute(e.DATA_DIR) ? e.DATA_DIR : resolve(e.DATA_DIR);
    const keys = parseApiKeys(e.AUTH_API_KEYS);
    this.auth = {
      keys,
      disabled: e.AUTH_DISABLED,
      defaultTenantId: e.DEFAULT_TENANT_ID,
      open: e.AUTH_DISABLED || keys.length === 0,
      failureLimit: e.AUTH_FAILURE_LIMIT,
      failureWindowMs: e.AUTH_FAILURE_WINDOW_MS,
    };
    this.rateLimit = {
      enabled: e.RATE_LIMIT_ENABLED,
      windowMs: e.RATE_LIMIT_WINDOW_MS,
      default: e.RATE_LIMIT_DEFAULT,
      search: e.RATE_LIMIT_SEARCH,
      upload: e.RATE_LIMIT_UPLOAD,
      download: e.RATE_LIMIT_DOWNLOAD,
      batch: e.RATE_LIMIT_BATCH,
      syncIntervalMs: e.RATE_LIMIT_SYNC_INTERVAL_MS,
      localShare: e.RATE_LIMIT_LOCAL_SHARE,
    };
    this.database = {
      url: e.DATABASE_URL,
      poolMax: e.DATABASE_POOL_MAX,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    };
    this.redis = { url: e.REDIS_URL };
    this.cache = {
      opTimeoutMs: e.CACHE_OP_TIMEOUT_MS,
      l1MaxEntries: e.CACHE_L1_MAX_ENTRIES,
      l1MaxBytes: e.CACHE_L1_MAX_BYTES,
    };
    this.buildingDirectory = {
      url: e.BUILDING_DIRECTORY_URL?.replace(/\/+$/, ''),
      token: e.BUILDING_DIRECTORY_TOKEN,
      file: e.BUILDING_DIRECTORY_FILE
        ? resolve(e.BUILDING_DIRECTORY_FILE)
        : join(__dirname, '..', 'building-directory', 'data', 'sample-buildings.json'),
      timeoutMs: e.BUILDING_DIRECTORY_TIMEOUT_MS,
      connectTimeoutMs: e.BUILDING_DIRECTORY_CONNECT_TIMEOUT_MS,
      retries: e.BUILDING_DIRECTORY_RETRIES,
      connections: e.BUILDING_DIRECTORY_CONNECTIONS,
      cacheEnabled: e.BUILDING_CACHE_ENABLED,
      cacheTtlMs: e.BUILDING_CACHE_TTL_MS,
      negativeTtlMs: e.BUILDING_NEGATIVE_TTL_MS,
      staleTtlMs: e.BUILDING_STALE_TTL_MS,
      webhookSecret: e.BUILDING_DIRECTORY_WEBHOOK_SECRET,
    };
    this.search = {
      maxFiles: e.UPLOAD_MAX_FILES,
      maxFileBytes: e.UPLOAD_MAX_FILE_BYTES,
      cacheTtlMs: e.SEARCH_CACHE_TTL_MS,
      queryMaxChars: e.SEARCH_QUERY_MAX_CHARS,
      queryMaxTerms: e.SEARCH_QUERY_MAX_TERMS,
      statementTimeoutMs: e.SEARCH_STATEMENT_TIMEOUT_MS,
      chunkChars: e.SEARCH_CHUNK_CHARS,
      chunkOverlapChars: e.SEARCH_CHUNK_OVERLAP_CHARS,
      uploadMemoryBudgetBytes: e.UPLOAD_MEMORY_BUDGET_MB * 1024 * 1024,
      uploadMemoryWaitMs: e.UPLOAD_MEMORY_WAIT_MS,
    };
    this.answers = {
      url: e.ANSWER_URL,
      model: e.ANSWER_MODEL,
      apiKey: e.ANSWER_API_KEY,
      timeoutMs: e.ANSWER_TIMEOUT_MS,
      maxTokens: e.ANSWER_MAX_TOKENS,
      maxPassages: e.ANSWER_MAX_PASSAGES,
      maxChars: e.ANSWER_MAX_CHARS,
      concurrency: e.ANSWER_CONCURRENCY,
      queueWaitMs: e.ANSWER_QUEUE_WAIT_MS,
    };
    this.embeddings = {
      provider: e.EMBEDDINGS_PROVIDER,
      url: e.EMBEDDINGS_URL?.replace(/\/+$/, '').replace(/\/v1$/, ''),
      model: e.EMBEDDINGS_MODEL,
      apiKey: e.EMBEDDINGS_API_KEY,
      batch: e.EMBEDDINGS_BATCH,
      timeoutMs: e.EMBEDDINGS_TIMEOUT_MS,
      retries: e.EMBEDDINGS_RETRIES,
      concurrency: e.EMBEDDINGS_CONCURRENCY,
      workerRssMb: e.EMBEDDINGS_WORKER_RSS_MB,
      indexMb: e.EMBEDDINGS_INDEX_MB,
      defaultHybridMaxPassages: e.EMBEDDINGS_DEFAULT_HYBRID_MAX_PASSAGES,
    };
    this.extraction = {
      workers: e.EXTRACTION_WORKERS,
      workerHeapMb: e.EXTRACTION_WORKER_HEAP_MB,
      workerRssMb: e.EXTRACTION_WORKER_RSS_MB,
      timeoutMs: e.EXTRACTION_TIMEOUT_MS,
      cpuMs: e.EXTRACTION_CPU_MS,
      queueMax: e.EXTRACTION_QUEUE_MAX,
      idleMs: e.EXTRACTION_IDLE_MS,
      maxTextChars: e.EXTRACTION_MAX_TEXT_CHARS,
      zip: {
        maxEntries: e.EXTRACTION_ZIP_MAX_ENTRIES,
        maxUncompressedBytes: e.EXTRACTION_ZIP_MAX_BYTES,
        maxRatio: e.EXTRACTION_ZIP_MAX_RATIO,
      },
    };
    this.pools = { tenantShare: e.POOL_TENANT_SHARE };
    this.downloader = {
      maxBytes: e.DOWNLOAD_MAX_BYTES,
      connectTimeoutMs: e.DOWNLOAD_CONNECT_TIMEOUT_MS,
      timeoutMs: e.DOWNLOAD_TIMEOUT_MS,
      allowPrivate: e.DOWNLOAD_ALLOW_PRIVATE,
      userAgent: e.DOWNLOAD_CONTACT_URL
        ? `${e.DOWNLOAD_USER_AGENT} (+${e.DOWNLOAD_CONTACT_URL})`
        : e.DOWNLOAD_USER_AGENT,
      robots: e.DOWNLOAD_ROBOTS,
      robotsTtlMs: e.DOWNLOAD_ROBOTS_TTL_MS,
      hostConcurrency: e.DOWNLOAD_HOST_CONCURRENCY,
      hostDelayMs: e.DOWNLOAD_HOST_DELAY_MS,
      hostMaxWaitMs: e.DOWNLOAD_HOST_MAX_WAIT_MS,
      crawlMaxPages: e.CRAWL_MAX_PAGES,
      concurrency: e.DOWNLOAD_CONCURRENCY,
      retries: e.DOWNLOAD_RETRIES,
      cacheTtlMs: e.DOWNLOAD_CACHE_TTL_MS,
      chromiumPath: e.CHROMIUM_PATH,
      pdfConcurrency: e.PDF_CONCURRENCY,
      batchMaxUrls: e.BATCH_MAX_URLS,
      batchWorkerConcurrency: e.BATCH_WORKER_CONCURRENCY,
      jobTtlMs: e.JOB_TTL_MS,
      webhookSecret: e.WEBHOOK_SECRET,
      webhookMaxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    };
  }
}

const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Whose X-Forwarded-For is believed: nobody's (false), that many hops', or these proxies'. */
/** A DNS host name (labels of letters, digits and inner hyphens): `localhost`, `api.internal`. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export type TrustProxy = false | number | string[];

/** Names proxy-addr (Fastify's trustProxy) knows for address ranges. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY as Fastify's `trustProxy` option takes it, or why it cannot be: unset → false; `1`…`32` → a hop
 * count; otherwise a comma-separated list of IP addresses, CIDRs or range names. `true` (believe anyone) is
 * refused: any client could then pick its own address, and with it a fresh failed-key and rate limit.
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy | { problem: string } {
  if (raw === undefined) return false;
  const value = raw.trim();
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops >= 1 && hops <= 32) return hops;
    return { problem: "a hop count from 1 to 32, or the proxies' addresses/CIDRs (unset: trust no proxy)" };
  }
  if (['true', 'false', 'yes', 'no', 'on', 'off', '*'].includes(value.toLowerCase()))
    return {
      problem:
        "a hop count (e.g. 1) or the proxies' addresses/CIDRs (e.g. 10.0.0.0/8), not a yes/no — trusting every " +
        'sender of X-Forwarded-For would let any client choose its address (unset: trust no proxy)',
    };
  const entries = value.split(',').map((e) => e.trim());
  const bad = entries.filter((e) => !isAddressOrRange(e));
  if (bad.length)
    return {
      problem:
        'IP addresses, CIDRs or loopback/linklocal/uniquelocal, comma-separated, or a hop count ' +
        `(${bad.map((b) => JSON.stringify(b)).join(' and ')} ${bad.length === 1 ? 'is' : 'are'} not)`,
    };
  return entries;
}

function isAddressOrRange(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

export function parseApiKeys(raw: string): ApiKeyBinding[] {
  return raw
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.lastIndexOf('=');
      return { key: at > 0 ? pair.slice(0, at).trim() : '', tenant: at > 0 ? pair.slice(at + 1).trim() : '' };
    });
}

/**
 * Variables earlier releases read and this one does not: still set, they would be ignored without a word, so
 * the startup log names each with what replaced it.
 */
export const RETIRED_VARIABLES: Readonly<Record<string, string>> = {
  BODY_READ_TIMEOUT_MS:
    'request bodies are timed by how slowly the client sends: BODY_IDLE_TIMEOUT_MS and BODY_MIN_BYTES_PER_SECOND',
  MEMORY_IDLE_GC_INTERVAL_MS:
    'no garbage collection is forced any more; idle memory is bounded by heap limits and worker recycling',
};

/** The names of every variable the service reads (from the schema's validation metadata). */
export function environmentVariableNames(): string[] {
  const metas = getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false);
  return [...new Set(metas.map((m) => m.propertyName))];
}

/**
 * Validates the environment (only the variables the schema names) and returns the typed config,
 * or throws ConfigValidationError naming every bad variable.
 */
export function buildConfig(env: Record<string, string | undefined>, version = '0.0.0'): AppConfig {
  const known = new Set(environmentVariableNames());
  const plain: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (known.has(k) && v !== undefined) plain[k] = v;
  const vars = plainToInstance(EnvironmentVariables, plain, { exposeDefaultValues: true });
  const schema = describeSchemaErrors(
    EnvironmentVariables,
    validateSync(vars, { whitelist: true, forbidUnknownValues: true }),
    plain,
  );

  // cross-field checks, merged into the same one line per variable
  const extra: Array<[string, string]> = [];
  const keys = parseApiKeys(vars.AUTH_API_KEYS ?? '');
  keys.forEach((k, i) => {
    if (!k.key || !k.tenant) extra.push(['AUTH_API_KEYS', `entry ${i + 1} is not a key=tenant pair`]);
    else if (k.key.length < 16)
      extra.push(['AUTH_API_KEYS', `entry ${i + 1} has a key shorter than 16 characters`]);
    else if (k.tenant !== '*' && !TENANT_PATTERN.test(k.tenant))
      extra.push(['AUTH_API_KEYS', `entry ${i + 1} names an invalid tenant id "${k.tenant}"`]);
  });
  if (new Set(keys.map((k) => k.key)).size !== keys.length)
    extra.push(['AUTH_API_KEYS', 'a key appears twice']);
  if (vars.URL_MAX_LENGTH >= vars.HEADERS_MAX_BYTES)
    extra.push([
      'URL_MAX_LENGTH',
      `got "${vars.URL_MAX_LENGTH}"; allowed: smaller than HEADERS_MAX_BYTES (${vars.HEADERS_MAX_BYTES}), which includes the request line`,
    ]);
  if (vars.NODE_ENV === 'production' && keys.length === 0 && vars.AUTH_DISABLED !== true)
    extra.push([
      'AUTH_API_KEYS',
      'required when NODE_ENV=production (set AUTH_DISABLED=true to run open on purpose)',
    ]);
  if (!isIP(vars.HOST) && !HOST_NAME.test(vars.HOST))
    extra.push([
      'HOST',
      `got ${JSON.stringify(vars.HOST)}; allowed: a host name or an IP address, without a port (the port is PORT)`,
    ]);
  const trustProxy = parseTrustProxy(vars.TRUST_PROXY);
  if (typeof trustProxy === 'object' && !Array.isArray(trustProxy))
    extra.push(['TRUST_PROXY', `got ${JSON.stringify(vars.TRUST_PROXY)}; allowed: ${trustProxy.problem}`]);
  if (vars.SHUTDOWN_DRAIN_MS >= vars.SHUTDOWN_TIMEOUT_MS)
    extra.push([
      'SHUTDOWN_DRAIN_MS',
      `got "${vars.SHUTDOWN_DRAIN_MS}"; allowed: smaller than SHUTDOWN_TIMEOUT_MS (${vars.SHUTDOWN_TIMEOUT_MS})`,
    ]);
  if (vars.EXTRACTION_WORKER_RSS_MB <= vars.EXTRACTION_WORKER_HEAP_MB)
    extra.push([
      'EXTRACTION_WORKER_RSS_MB',
      `got "${vars.EXTRACTION_WORKER_RSS_MB}"; allowed: larger than EXTRACTION_WORKER_HEAP_MB (${vars.EXTRACTION_WORKER_HEAP_MB}) — a child also holds code and buffers`,
    ]);
  if (vars.EMBEDDINGS_PROVIDER === 'openai')
    for (const name of ['EMBEDDINGS_URL', 'EMBEDDINGS_MODEL'] as const)
      if (!vars[name]) extra.push([name, 'required when EMBEDDINGS_PROVIDER=openai']);
  if (vars.SEARCH_CHUNK_OVERLAP_CHARS >= vars.SEARCH_CHUNK_CHARS)
    extra.push([
      'SEARCH_CHUNK_OVERLAP_CHARS',
      `got "${vars.SEARCH_CHUNK_OVERLAP_CHARS}"; allowed: smaller than SEARCH_CHUNK_CHARS (${vars.SEARCH_CHUNK_CHARS})`,
    ]);

  if (vars.ANSWER_URL && !vars.ANSWER_MODEL)
    extra.push(['ANSWER_MODEL', 'required when ANSWER_URL is set (the model answer=generate asks for)']);
  if (vars.ANSWER_MODEL && !vars.ANSWER_URL)
    extra.push(['ANSWER_URL', 'required when ANSWER_MODEL is set (the OpenAI-compatible API, up to /v1)']);

  const problems = problemLines(schema, extra);
  if (problems.length) throw new ConfigValidationError(problems);
  const retired = Object.entries(RETIRED_VARIABLES)
    .filter(([name]) => env[name] !== undefined)
    .map(([name, advice]) => ({ name, advice }));
  return new AppConfig(vars, version, retired);
}

/** Test helper: a valid config from defaults plus overrides, never reading process.env. */
export function testConfig(overrides: Record<string, string | undefined> = {}): AppConfig {
  return buildConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...overrides });
}
