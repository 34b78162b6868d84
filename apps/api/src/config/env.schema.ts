import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  return value; // left as a string so IsBoolean reports it
};
const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const MiB = 1024 * 1024;

/**
 * Every environment variable Atrium reads, with its default. This class is the single source:
 * `.env.example`, the README table and the deployment cross-check tests are derived from it.
 */
export class EnvironmentVariables {
  // ── process ────────────────────────────────────────────────────────────────
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /**
   * Listen address. Loopback by default: a server started from a checkout (auth off, maybe private downloads
   * allowed) is not reachable from other machines. The image, docker-compose and Kubernetes set 0.0.0.0.
   */
  @IsString()
  @MinLength(1)
  HOST = '127.0.0.1';

  /**
   * Which proxies' X-Forwarded-For to believe for the client address (logs, the failed-key limit, per-IP rate
   * limits): unset = none, the socket's address is the client; a hop count (`1`: the address the nearest proxy
   * saw); or a comma-separated list of the proxies' addresses or CIDRs (`10.0.0.0/8,127.0.0.1`; also
   * `loopback`, `linklocal`, `uniquelocal`). Checked in buildConfig (parseTrustProxy).
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  TRUST_PROXY?: string;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** json (default) or pretty; pretty is the default when NODE_ENV=development. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsIn(['json', 'pretty'])
  LOG_FORMAT?: 'json' | 'pretty';

  @IsString()
  @MinLength(1)
  DATA_DIR = './data';

  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600000)
  SHUTDOWN_TIMEOUT_MS = 10000;

  /** After SIGTERM, readiness is 503 for this long while the server still serves, before it stops accepting. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600000)
  SHUTDOWN_DRAIN_MS = 0;

  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(100 * MiB)
  BODY_LIMIT_BYTES = MiB;

  /** JSON bodies nesting objects/arrays deeper than this are refused (400 MALFORMED_JSON) before validation. */
  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(512)
  BODY_JSON_MAX_DEPTH = 32;

  /**
   * While the server reads a request body, no byte of it for this long: 408 REQUEST_TIMEOUT and the connection
   * is closed. Only time the server spends waiting for the client counts — not its own work on what it
   * already read (an upload's files are stored while the rest of the body waits), nor a wait for its turn.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600000)
  BODY_IDLE_TIMEOUT_MS = 30000;

  /**
   * A body arriving slower than this on average, over the time the server waited for it (judged once it has
   * waited BODY_IDLE_TIMEOUT_MS), is cut the same way: a client trickling a byte now and then cannot hold a
   * connection for hours. 0 turns the check off.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100 * MiB)
  BODY_MIN_BYTES_PER_SECOND = 1024;

  /** The request line and headers must arrive within this (Node's headersTimeout): 408 REQUEST_TIMEOUT. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600000)
  HEADERS_READ_TIMEOUT_MS = 10000;

  /** Request line + headers larger than this are refused by the HTTP parser: 431 HEADERS_TOO_LARGE (or 414). */
  @Type(() => Number)
  @IsInt()
  @Min(4096)
  @Max(1024 * 1024)
  HEADERS_MAX_BYTES = 16384;

  /** Request targets (path + query) longer than this: 414 URI_TOO_LONG. */
  @Type(() => Number)
  @IsInt()
  @Min(256)
  @Max(1024 * 1024)
  URL_MAX_LENGTH = 8192;

  /** Prometheus metrics and the /metrics JSON views; off only for overhead benchmarks. */
  @Transform(toBool)
  @IsBoolean()
  METRICS_ENABLED = true;

  /** One access log line per request. */
  @Transform(toBool)
  @IsBoolean()
  ACCESS_LOG_ENABLED = true;

  /** Sliding window of /metrics/performance and /metrics/health-score. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3600000)
  METRICS_WINDOW_MS = 300000;

  // ── health ─────────────────────────────────────────────────────────────────
  @Type(() => Number)
  @IsInt()
  @Min(50)
  @Max(30000)
  HEALTH_CHECK_TIMEOUT_MS = 1500;

  @Type(() => Number)
  @IsInt()
  @Min(16 * MiB)
  HEALTH_MEMORY_HEAP_MAX_BYTES = 512 * MiB;

  @Type(() => Number)
  @IsNumber()
  @Min(0.01)
  @Max(1)
  HEALTH_DISK_THRESHOLD = 0.95;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  HEALTH_EVENT_LOOP_LAG_MAX_MS = 500;

  // ── auth & tenants ─────────────────────────────────────────────────────────
  /** Comma-separated key=tenant pairs; tenant * means every tenant. */
  @IsString()
  AUTH_API_KEYS = '';

  @Transform(toBool)
  @IsBoolean()
  AUTH_DISABLED = false;

  @Matches(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/)
  DEFAULT_TENANT_ID = 'demo';

  /** Failed authentications (missing or unknown key) one client address may make per window before 429. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  AUTH_FAILURE_LIMIT = 20;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3600000)
  AUTH_FAILURE_WINDOW_MS = 60000;

  // ── rate limits (per API key, or per client IP when auth is off) ──────────
  /** false: no rate limits at all (e.g. a gateway in front enforces them); no X-RateLimit-* headers. */
  @Transform(toBool)
  @IsBoolean()
  RATE_LIMIT_ENABLED = true;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  RATE_LIMIT_WINDOW_MS = 60000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_DEFAULT = 1200;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_SEARCH = 300;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_UPLOAD = 60;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_DOWNLOAD = 120;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_BATCH = 20;

  /** How often each replica pushes its local rate-limit counts to Redis and reads the shared totals back. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(10000)
  RATE_LIMIT_SYNC_INTERVAL_MS = 200;

  /**
   * Share of a limit one replica may admit before Redis has counted it (its batch, floor(limit × share)).
   * Replicas together exceed a limit by at most replicas × batch; a batch below 2 counts every hit in Redis.
   */
  @Type(() => Number)
  @IsNumber()
  @Min(0)
  @Max(0.5)
  RATE_LIMIT_LOCAL_SHARE = 0.05;

  // ── database ───────────────────────────────────────────────────────────────
  /** postgres://… ; unset = embedded PGlite in DATA_DIR. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_MAX = 10;

  /**
   * Bound on one statement: statement_timeout on Postgres; on PGlite (which ignores statement_timeout)
   * the worker thread running the statement is terminated and restarted on the same data. Also how long
   * a statement may wait for PGlite's single session.
   */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  DATABASE_STATEMENT_TIMEOUT_MS = 15000;

  // ── cache ──────────────────────────────────────────────────────────────────
  /** redis://… ; unset = L1 only, in-process jobs, per-process rate limits. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  CACHE_OP_TIMEOUT_MS = 50;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  CACHE_L1_MAX_ENTRIES = 10000;

  /**
   * L1's bound in bytes (the JSON size of its entries), all namespaces together; an entry larger than an
   * eighth of it is not kept in L1 (L2 and the source still serve it). 64 MiB.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1024 * 1024)
  CACHE_L1_MAX_BYTES = 64 * 1024 * 1024;

  // ── building directory ─────────────────────────────────────────────────────
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  BUILDING_DIRECTORY_URL?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  BUILDING_DIRECTORY_TOKEN?: string;

  /** JSON file of buildings used when BUILDING_DIRECTORY_URL is unset; default: the bundled sample. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  BUILDING_DIRECTORY_FILE?: string;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  BUILDING_DIRECTORY_TIMEOUT_MS = 2000;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  BUILDING_DIRECTORY_CONNECT_TIMEOUT_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(5)
  BUILDING_DIRECTORY_RETRIES = 2;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  BUILDING_DIRECTORY_CONNECTIONS = 64;

  /**
   * false: building lookups go to the source every time (no L1/L2, no X-Cache) — for a
   * BUILDING_DIRECTORY_FILE source, which is already in memory, or an upstream that is itself a cache.
   */
  @Transform(toBool)
  @IsBoolean()
  BUILDING_CACHE_ENABLED = true;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  BUILDING_CACHE_TTL_MS = 300000;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  BUILDING_NEGATIVE_TTL_MS = 30000;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  BUILDING_STALE_TTL_MS = 3600000;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(16)
  BUILDING_DIRECTORY_WEBHOOK_SECRET?: string;

  // ── search ─────────────────────────────────────────────────────────────────
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  UPLOAD_MAX_FILES = 20;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  UPLOAD_MAX_FILE_BYTES = 20 * MiB;

  /**
   * Memory for upload work in flight in this process (bytes received, extracted and held), in MiB: each upload
   * reserves its share (its file size from Content-Length, at most UPLOAD_MAX_FILE_BYTES, times the copies one
   * file's text and chunks take) before its body is read. Default: a third of the 1,536 MiB the Kubernetes
   * manifests give the pod.
   */
  @Type(() => Number)
  @IsInt()
  @Min(16)
  @Max(1024 * 1024)
  UPLOAD_MEMORY_BUDGET_MB = 512;

  /** How long an upload waits for room in UPLOAD_MEMORY_BUDGET_MB before 503 CAPACITY_EXCEEDED (0: refuse at once). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(120000)
  UPLOAD_MEMORY_WAIT_MS = 5000;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  SEARCH_CACHE_TTL_MS = 300000;

  /** Longest search query, in characters (longer: 400 VALIDATION_FAILED, before any SQL). */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(10000)
  SEARCH_QUERY_MAX_CHARS = 1000;

  /** Most words in one search query (more: 400 VALIDATION_FAILED, before any SQL). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(256)
  SEARCH_QUERY_MAX_TERMS = 32;

  /** Bound on a search's statements (both adapters); over it: 503 SEARCH_TIMEOUT. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  SEARCH_STATEMENT_TIMEOUT_MS = 5000;

  @Type(() => Number)
  @IsInt()
  @Min(200)
  @Max(20000)
  SEARCH_CHUNK_CHARS = 1200;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(5000)
  SEARCH_CHUNK_OVERLAP_CHARS = 200;

  // ── answers (search answer=extractive|generate) ─────────────────────────────
  /**
   * Base URL of an OpenAI-compatible API, up to and including `/v1` (Atrium posts to `{ANSWER_URL}/chat/completions`):
   * with ANSWER_MODEL, enables answer=generate. Unset: answer=generate is 503 ANSWER_UNAVAILABLE.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  ANSWER_URL?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(1)
  ANSWER_MODEL?: string;

  /** Sent as `Authorization: Bearer …` (optional: Ollama and vLLM need none). Never logged or shown. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  ANSWER_API_KEY?: string;

  /** Bound on one generation, from the request sent to the last token received (over it: 504 UPSTREAM_TIMEOUT). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600000)
  ANSWER_TIMEOUT_MS = 30000;

  /** max_tokens of a generation. */
  @Type(() => Number)
  @IsInt()
  @Min(16)
  @Max(8192)
  ANSWER_MAX_TOKENS = 512;

  /** Passages an answer is made from: the first results of the page (their best chunk each). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(20)
  ANSWER_MAX_PASSAGES = 5;

  /** Characters of those passages considered (extractive) or sent to the model (generate), in all. */
  @Type(() => Number)
  @IsInt()
  @Min(200)
  @Max(50000)
  ANSWER_MAX_CHARS = 6000;

  /**
   * answer=generate requests to the chat model in flight at once in this process (whole or streamed), shared
   * fairly between tenants (one holds at most POOL_TENANT_SHARE of them); more wait, then 503 CAPACITY_EXCEEDED.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(256)
  ANSWER_CONCURRENCY = 4;

  /** How long an answer=generate request waits for one of those slots before 503 CAPACITY_EXCEEDED (0: refuse at once). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600000)
  ANSWER_QUEUE_WAIT_MS = 5000;

  // ── embeddings (semantic and hybrid search; README "Semantic search") ─────────
  /** local: USE lite in its own child process, no network; openai: an OpenAI-compatible /v1/embeddings; off. */
  @IsIn(['local', 'openai', 'off'])
  EMBEDDINGS_PROVIDER: 'local' | 'openai' | 'off' = 'local';

  /** Base URL of an OpenAI-compatible server (`…/v1` or its root); required when EMBEDDINGS_PROVIDER=openai. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  EMBEDDINGS_URL?: string;

  /** The model asked of the openai provider (e.g. nomic-embed-text on Ollama); required with it. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MaxLength(200)
  EMBEDDINGS_MODEL?: string;

  /** Bearer token for the openai provider, if it needs one (never logged). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  EMBEDDINGS_API_KEY?: string;

  /** Passages per embedding request (and per background step). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(256)
  EMBEDDINGS_BATCH = 16;

  /** Wall-clock limit of one embedding request (openai) or batch (local). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600000)
  EMBEDDINGS_TIMEOUT_MS = 30000;

  /** Retries of a failed openai request (network errors, 429, 5xx), with exponential backoff. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10)
  EMBEDDINGS_RETRIES = 2;

  /** Embedding requests in flight at most (openai), queries included. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  EMBEDDINGS_CONCURRENCY = 2;

  /** Stores of more embedded passages than this search lexically unless a mode is asked for (a semantic scan grows with them). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100000000)
  EMBEDDINGS_DEFAULT_HYBRID_MAX_PASSAGES = 5000;

  /** Resident memory the local model's child may reach (the model's WASM memory included) before it is killed. */
  @Type(() => Number)
  @IsInt()
  @Min(256)
  @Max(32768)
  EMBEDDINGS_WORKER_RSS_MB = 768;

  /**
   * Memory for passage vectors held by the vector index's child (int8: a 512-dimension passage takes ~0.5 KB,
   * so 128 MB hold ~240k of them); stores used least recently are dropped first, and a store larger than this
   * is ranked page by page from the database instead of being held.
   */
  @Type(() => Number)
  @IsInt()
  @Min(16)
  @Max(65536)
  EMBEDDINGS_INDEX_MB = 128;

  // ── extraction (parsers in child processes; README "Hostile input") ─────────
  /** Parser child processes at most (started on demand, exit when idle). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(32)
  EXTRACTION_WORKERS = 2;

  /** --max-old-space-size of each parser child. */
  @Type(() => Number)
  @IsInt()
  @Min(32)
  @Max(16384)
  EXTRACTION_WORKER_HEAP_MB = 256;

  /** Resident memory a parser child may reach (heap + buffers + WASM) before it is killed. */
  @Type(() => Number)
  @IsInt()
  @Min(64)
  @Max(32768)
  EXTRACTION_WORKER_RSS_MB = 384;

  /** Wall-clock limit of one extraction. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600000)
  EXTRACTION_TIMEOUT_MS = 30000;

  /** CPU-time limit of one extraction (user + system). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600000)
  EXTRACTION_CPU_MS = 20000;

  /** Extractions waiting for a child; more answer 503 CAPACITY_EXCEEDED. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10000)
  EXTRACTION_QUEUE_MAX = 64;

  /** An idle parser child (and the PDF browser) exits after this long. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  EXTRACTION_IDLE_MS = 60000;

  /** Longest text one document may yield (characters). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  EXTRACTION_MAX_TEXT_CHARS = 10_000_000;

  /** Entries a zip-based upload (.docx, .xlsx, .pptx, .odt, .ods, .odp, .epub) may hold. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  EXTRACTION_ZIP_MAX_ENTRIES = 1000;

  /** Sum of the uncompressed sizes of a zip-based upload's entries, declared and counted while inflating. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  EXTRACTION_ZIP_MAX_BYTES = 100 * MiB;

  /** Uncompressed / compressed size of an entry or the whole archive (judged above 1 MiB). */
  @Type(() => Number)
  @IsInt()
  @Min(2)
  EXTRACTION_ZIP_MAX_RATIO = 100;

  // ── fair shares (every shared pool; README "Fair shares between tenants") ──
  /**
   * Share of each shared pool one tenant may hold at once — download and PDF slots, batch slots, parser
   * children — and of each pool's waiting room (rounded up, at least one): the rest is left to other
   * tenants, who are served in turn. 1 = no cap (a single-tenant deployment), fair ordering only.
   */
  @Type(() => Number)
  @IsNumber()
  @Min(0.05)
  @Max(1)
  POOL_TENANT_SHARE = 0.5;

  // ── downloader ─────────────────────────────────────────────────────────────
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  DOWNLOAD_MAX_BYTES = 10 * MiB;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  DOWNLOAD_CONNECT_TIMEOUT_MS = 5000;

  @Type(() => Number)
  @IsInt()
  @Min(500)
  DOWNLOAD_TIMEOUT_MS = 30000;

  /** Lifts the address check of the URL policy (never the scheme check). Tests and internal deployments only. */
  @Transform(toBool)
  @IsBoolean()
  DOWNLOAD_ALLOW_PRIVATE = false;

  /** The product token robots.txt groups are matched against is the part before the first "/" (AtriumDownloader). */
  @IsString()
  @MinLength(1)
  @Matches(/^[A-Za-z0-9_-]+(\/[^\s]*)?( .*)?$/, {
    message: 'DOWNLOAD_USER_AGENT must start with a product token (letters, digits, "_", "-")',
  })
  DOWNLOAD_USER_AGENT = 'AtriumDownloader/1.0';

  /** Where site owners learn who is fetching and how to reach the operator: sent as "(+URL)" in the User-Agent. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, protocols: ['http', 'https', 'mailto'] })
  DOWNLOAD_CONTACT_URL?: string;

  /** obey: robots.txt is honoured for every download, batch URL and crawl page; ignore: operators only (tenants cannot). */
  @IsIn(['obey', 'ignore'])
  DOWNLOAD_ROBOTS: 'obey' | 'ignore' = 'obey';

  /** How long a host's robots.txt is kept (RFC 9309 asks for at most 24 h). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(86400000)
  DOWNLOAD_ROBOTS_TTL_MS = 3600000;

  /** Requests in flight per host, across every tenant, batch and crawl (and every replica with Redis). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  DOWNLOAD_HOST_CONCURRENCY = 4;

  /** Least time between two requests to one host; a robots.txt Crawl-delay that is longer wins. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60000)
  DOWNLOAD_HOST_DELAY_MS = 0;

  /** The longest Crawl-delay or Retry-After honoured (a hostile site cannot park the downloader for hours). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3600000)
  DOWNLOAD_HOST_MAX_WAIT_MS = 60000;

  /** The largest maxPages a crawl may ask for. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100000)
  CRAWL_MAX_PAGES = 500;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  DOWNLOAD_CONCURRENCY = 32;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(5)
  DOWNLOAD_RETRIES = 2;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  DOWNLOAD_CACHE_TTL_MS = 300000;

  /** Chromium/Chrome binary for PDF rendering; unset = /usr/bin/chromium when present, else PDF answers 503. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  CHROMIUM_PATH?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(32)
  PDF_CONCURRENCY = 2;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  BATCH_MAX_URLS = 100;

  /** Batch jobs processed at once by one replica. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  BATCH_WORKER_CONCURRENCY = 4;

  @Type(() => Number)
  @IsInt()
  @Min(60000)
  JOB_TTL_MS = 86400000;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(16)
  WEBHOOK_SECRET?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(20)
  WEBHOOK_MAX_ATTEMPTS = 5;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  WEBHOOK_TIMEOUT_MS = 10000;
}
