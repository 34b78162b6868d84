import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig, ConfigValidationError, environmentVariableNames, testConfig } from './app-config';
import { isSecretVariable } from './config-errors';

describe('config', () => {
  it('builds a typed config from defaults', () => {
    const sut = buildConfig({});
    expect(sut.http.port).toBe(3000);
    // loopback unless told otherwise (the image, compose and Kubernetes set HOST=0.0.0.0); no proxy trusted
    expect(sut.http.host).toBe('127.0.0.1');
    expect(sut.http.trustProxy).toBe(false);
    expect(sut.cache.opTimeoutMs).toBe(50);
    expect(sut.buildingDirectory.cacheTtlMs).toBe(300000);
    expect(sut.downloader.maxBytes).toBe(10 * 1024 * 1024);
    expect(sut.auth).toMatchObject({ open: true, defaultTenantId: 'demo', keys: [] });
    expect(sut.log.format).toBe('pretty'); // development default
    expect(buildConfig({ NODE_ENV: 'test' }).log.format).toBe('json');
  });

  it('coerces numbers and booleans and treats empty strings as unset', () => {
    const sut = buildConfig({
      PORT: '8080',
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      METRICS_ENABLED: '0',
      REDIS_URL: '',
      DATABASE_URL: ' ',
    });
    expect(sut.http.port).toBe(8080);
    expect(sut.downloader.allowPrivate).toBe(true);
    expect(sut.metrics.enabled).toBe(false);
    expect(sut.redis.url).toBeUndefined();
    expect(sut.database.url).toBeUndefined();
  });

  it('names every bad variable at once', () => {
    let error: ConfigValidationError | undefined;
    try {
      buildConfig({
        PORT: 'x',
        CACHE_OP_TIMEOUT_MS: '0',
        LOG_FORMAT: 'xml',
        DATABASE_URL: 'mysql://x',
        METRICS_ENABLED: 'maybe',
      });
    } catch (e) {
      error = e as ConfigValidationError;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const vars = error!.problems.map((p) => p.split(':')[0]);
    expect(new Set(vars)).toEqual(
      new Set(['PORT', 'CACHE_OP_TIMEOUT_MS', 'LOG_FORMAT', 'DATABASE_URL', 'METRICS_ENABLED']),
    );
  });

  it('says, in one line per variable, what was given and what is allowed', () => {
    const problemsOf = (env: Record<string, string>): string[] => {
      try {
        buildConfig(env);
      } catch (e) {
        return (e as ConfigValidationError).problems;
      }
      throw new Error('expected the config to be refused');
    };
    // the value as written, not the coerced NaN ("got null"), and one line, not one per failed rule
    expect(problemsOf({ PORT: 'abc' })).toEqual(['PORT: got "abc"; allowed: an integer from 0 to 65535']);
    expect(problemsOf({ LOG_FORMAT: 'xml' })).toEqual([
      'LOG_FORMAT: got "xml"; allowed: one of json, pretty (or unset/empty)',
    ]);
    expect(problemsOf({ METRICS_ENABLED: 'maybe' })).toEqual([
      'METRICS_ENABLED: got "maybe"; allowed: true or false (also 1/0, yes/no, on/off)',
    ]);
    expect(problemsOf({ HEALTH_DISK_THRESHOLD: '2' })).toEqual([
      'HEALTH_DISK_THRESHOLD: got "2"; allowed: a number from 0.01 to 1',
    ]);
    expect(problemsOf({ BODY_LIMIT_BYTES: '10' })).toEqual([
      'BODY_LIMIT_BYTES: got "10"; allowed: an integer from 1024 to 104857600',
    ]);
    expect(problemsOf({ REDIS_URL: 'http://nope' })).toEqual([
      'REDIS_URL: got "http://nope"; allowed: a redis:// URL (or unset/empty)',
    ]);
    expect(problemsOf({ SHUTDOWN_DRAIN_MS: '20000' })).toEqual([
      'SHUTDOWN_DRAIN_MS: got "20000"; allowed: smaller than SHUTDOWN_TIMEOUT_MS (10000)',
    ]);
    // several problems of one variable share its line
    expect(problemsOf({ AUTH_API_KEYS: 'short=demo,nopair' })).toEqual([
      'AUTH_API_KEYS: entry 1 has a key shorter than 16 characters; entry 2 is not a key=tenant pair',
    ]);
  });

  it('never prints a secret it refuses, and masks the password of a URL', () => {
    const messageOf = (env: Record<string, string>): string => {
      try {
        buildConfig(env);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('expected the config to be refused');
    };
    const secret = messageOf({ WEBHOOK_SECRET: 'tooshort', BUILDING_DIRECTORY_WEBHOOK_SECRET: 'tiny' });
    expect(secret).toContain('WEBHOOK_SECRET: got (hidden, 8 characters); allowed: at least 16 characters');
    expect(secret).not.toMatch(/tooshort|tiny/);
    const url = messageOf({ DATABASE_URL: 'mysql://app:s3cr3t@db/atrium' });
    expect(url).toContain('DATABASE_URL: got "mysql://app:***@db/atrium"; allowed: a postgres:// URL');
    expect(url).not.toContain('s3cr3t');
  });

  it('ANSWER_*: answer=generate needs URL and model together; the key is optional and a secret', () => {
    expect(buildConfig({}).answers).toEqual({
      url: undefined,
      model: undefined,
      apiKey: undefined,
      timeoutMs: 30000,
      maxTokens: 512,
      maxPassages: 5,
      maxChars: 6000,
      concurrency: 4,
      queueWaitMs: 5000,
    });
    expect(
      buildConfig({ ANSWER_URL: 'http://127.0.0.1:11434/v1', ANSWER_MODEL: 'llama3.2' }).answers,
    ).toMatchObject({ url: 'http://127.0.0.1:11434/v1', model: 'llama3.2', apiKey: undefined });
    expect(buildConfig({ ANSWER_CONCURRENCY: '2', ANSWER_QUEUE_WAIT_MS: '0' }).answers).toMatchObject({
      concurrency: 2,
      queueWaitMs: 0,
    });
    const problems = (env: Record<string, string>): string[] => {
      try {
        buildConfig(env);
      } catch (e) {
        return (e as ConfigValidationError).problems;
      }
      return [];
    };
    expect(problems({ ANSWER_URL: 'http://127.0.0.1:11434/v1' })).toEqual([
      'ANSWER_MODEL: required when ANSWER_URL is set (the model answer=generate asks for)',
    ]);
    expect(problems({ ANSWER_MODEL: 'm' })).toEqual([
      'ANSWER_URL: required when ANSWER_MODEL is set (the OpenAI-compatible API, up to /v1)',
    ]);
    expect(problems({ ANSWER_URL: 'ftp://x/v1', ANSWER_MODEL: 'm', ANSWER_MAX_PASSAGES: '0' })).toHaveLength(
      2,
    );
    expect(problems({ ANSWER_CONCURRENCY: '0' })).toEqual([expect.stringMatching(/^ANSWER_CONCURRENCY/)]);
    expect(isSecretVariable('ANSWER_API_KEY')).toBe(true);
  });

  it('EMBEDDINGS_*: local by default; openai needs a URL and a model; the URL loses a trailing /v1', () => {
    expect(testConfig().embeddings.provider).toBe('local');
    const problems = (env: Record<string, string>) => {
      try {
        testConfig(env);
        return '';
      } catch (e) {
        return (e as ConfigValidationError).problems.join('\n');
      }
    };
    expect(problems({ EMBEDDINGS_PROVIDER: 'openai' })).toMatch(
      /EMBEDDINGS_URL: required when EMBEDDINGS_PROVIDER=openai[\s\S]*EMBEDDINGS_MODEL: required/,
    );
    expect(problems({ EMBEDDINGS_PROVIDER: 'onnx' })).toMatch(/EMBEDDINGS_PROVIDER/);
    const c = testConfig({
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_URL: 'http://localhost:11434/v1/',
      EMBEDDINGS_MODEL: 'nomic-embed-text',
    });
    expect(c.embeddings).toMatchObject({
      url: 'http://localhost:11434',
      model: 'nomic-embed-text',
      batch: 16,
    });
  });

  it('HOST: a host name or an address, never with a port', () => {
    for (const host of ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', 'api.internal', 'atrium-api'])
      expect(buildConfig({ HOST: host }).http.host).toBe(host);
    for (const host of ['localhost:3101', '127.0.0.1:3000', 'http://localhost', '[::1]', 'a b', '-x'])
      expect(() => buildConfig({ HOST: host })).toThrow(
        `HOST: got ${JSON.stringify(host)}; allowed: a host name or an IP address, without a port (the port is PORT)`,
      );
  });

  it('TRUST_PROXY: unset trusts no proxy; a hop count or addresses/CIDRs; never "trust everyone"', () => {
    const trust = (v: string | undefined) => buildConfig({ TRUST_PROXY: v }).http.trustProxy;
    expect(trust(undefined)).toBe(false);
    expect(trust('')).toBe(false);
    expect(trust('1')).toBe(1);
    expect(trust('10.0.0.0/8, 127.0.0.1,::1,fd00::/8,loopback')).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'fd00::/8',
      'loopback',
    ]);
    const problem = (v: string): string => {
      try {
        buildConfig({ TRUST_PROXY: v });
      } catch (e) {
        return (e as ConfigValidationError).problems.join('\n');
      }
      throw new Error(`TRUST_PROXY=${v} was accepted`);
    };
    expect(problem('true')).toMatch(
      /^TRUST_PROXY: got "true"; allowed: a hop count \(e\.g\. 1\) or the proxies' addresses/,
    );
    expect(problem('*')).toMatch(/^TRUST_PROXY: got "\*"/);
    expect(problem('0')).toMatch(/allowed: a hop count from 1 to 32/);
    expect(problem('10.0.0.0/33,proxy.local')).toBe(
      'TRUST_PROXY: got "10.0.0.0/33,proxy.local"; allowed: IP addresses, CIDRs or loopback/linklocal/uniquelocal, comma-separated, or a hop count ("10.0.0.0/33" and "proxy.local" are not)',
    );
  });

  it('parses key=tenant pairs, allows * and rejects malformed, short or duplicate keys without echoing them', () => {
    const sut = buildConfig({ AUTH_API_KEYS: 'aaaaaaaaaaaaaaaa1=demo, bbbbbbbbbbbbbbbb2=*' });
    expect(sut.auth.keys).toEqual([
      { key: 'aaaaaaaaaaaaaaaa1', tenant: 'demo' },
      { key: 'bbbbbbbbbbbbbbbb2', tenant: '*' },
    ]);
    expect(sut.auth.open).toBe(false);
    for (const bad of [
      'nokeyhere',
      'short=demo',
      'aaaaaaaaaaaaaaaa1=bad tenant',
      'aaaaaaaaaaaaaaaa1=a,aaaaaaaaaaaaaaaa1=b',
    ]) {
      expect(() => buildConfig({ AUTH_API_KEYS: bad })).toThrow(/AUTH_API_KEYS/);
      try {
        buildConfig({ AUTH_API_KEYS: bad });
      } catch (e) {
        expect((e as Error).message).not.toContain('aaaaaaaaaaaaaaaa1');
      }
    }
  });

  it('production refuses to run open unless AUTH_DISABLED=true', () => {
    expect(() => buildConfig({ NODE_ENV: 'production' })).toThrow(
      /AUTH_API_KEYS: required when NODE_ENV=production/,
    );
    expect(buildConfig({ NODE_ENV: 'production', AUTH_DISABLED: 'true' }).auth.open).toBe(true);
    expect(buildConfig({ NODE_ENV: 'production', AUTH_API_KEYS: 'cccccccccccccccc3=acme' }).auth.open).toBe(
      false,
    );
  });

  it('groups the extraction limits and wants the RSS limit of a parser child above its heap limit', () => {
    expect(buildConfig({}).extraction).toEqual({
      workers: 2,
      workerHeapMb: 256,
      workerRssMb: 384,
      timeoutMs: 30000,
      cpuMs: 20000,
      queueMax: 64,
      idleMs: 60000,
      maxTextChars: 10_000_000,
      zip: { maxEntries: 1000, maxUncompressedBytes: 100 * 1024 * 1024, maxRatio: 100 },
    });
    expect(() => buildConfig({ EXTRACTION_WORKER_HEAP_MB: '512', EXTRACTION_WORKER_RSS_MB: '512' })).toThrow(
      /EXTRACTION_WORKER_RSS_MB: got "512"; allowed: larger than EXTRACTION_WORKER_HEAP_MB \(512\)/,
    );
  });

  it('ignores variables it does not know (the rest of the environment)', () => {
    expect(() => buildConfig({ HOME: '/root', SOMETHING_ELSE: 'x' })).not.toThrow();
  });

  it('notes retired variables that are still set, with what replaced them, and still starts', () => {
    expect(buildConfig({}).retired).toEqual([]);
    const config = buildConfig({ BODY_READ_TIMEOUT_MS: '60000', MEMORY_IDLE_GC_INTERVAL_MS: '0' });
    expect(config.retired.map((r) => r.name)).toEqual(['BODY_READ_TIMEOUT_MS', 'MEMORY_IDLE_GC_INTERVAL_MS']);
    expect(config.retired[0].advice).toMatch(/BODY_IDLE_TIMEOUT_MS/);
  });

  it('testConfig never reads process.env', () => {
    process.env.PORT = '1234';
    try {
      expect(testConfig().http.port).toBe(3000);
    } finally {
      delete process.env.PORT;
    }
  });

  it('.env.example lists exactly the variables of the schema', () => {
    const example = readFileSync(join(__dirname, '..', '..', '..', '..', '.env.example'), 'utf8');
    const listed = example
      .split('\n')
      .filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l))
      .map((l) => l.split('=')[0]);
    expect([...listed].sort()).toEqual([...environmentVariableNames()].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });
});
