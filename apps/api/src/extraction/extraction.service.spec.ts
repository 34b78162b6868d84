import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { testConfig } from '@app/config';
import { LiveStatsRegistry } from '@app/metrics/live-stats.registry';
import { POOL_METRICS, PoolMetrics } from '@app/metrics/pool-metrics';
import { buildDocx, buildPdf, buildZip } from '../../../../test/fixtures/documents/builders';
import { deflateBombPdf, expandingDocx } from '../../../../test/hostile/payloads';
import { DOWNLOADER_EXTRACTION, articleText } from '../downloader/extraction/page-extraction';
import { SEARCH_EXTRACTION, htmlText, prepareDocument } from '../search/upload/extract';
import { ExtractionJobRegistry } from './extraction-jobs.registry';
import { ExtractionError } from './extraction.errors';
import { EXTRACTION_METRICS } from './extraction.metrics';
import { ExtractionService } from './extraction.service';
import { ArchiveRefusal } from './zip-directory';

// The real worker (extraction.worker.ts through @swc-node in the child), the real parsers, and the handler
// modules search and the downloader register (loaded by path in the child, as in the app).
describe('ExtractionService (real child processes, real parsers)', () => {
  const registry = new Registry();
  const live = new LiveStatsRegistry();
  const jobs = new ExtractionJobRegistry();
  jobs.add(SEARCH_EXTRACTION);
  jobs.add(DOWNLOADER_EXTRACTION);
  const [gauge, killed] = EXTRACTION_METRICS;
  const sut = new ExtractionService(
    testConfig({
      EXTRACTION_WORKERS: '2',
      EXTRACTION_MAX_TEXT_CHARS: '5000',
      EXTRACTION_WORKER_HEAP_MB: '128',
      EXTRACTION_WORKER_RSS_MB: '256',
      EXTRACTION_ZIP_MAX_BYTES: String(8 * 1024 * 1024),
    }),
    killed.useFactory(registry) as Counter<'reason'>,
    live,
    new PoolMetrics(POOL_METRICS[0].useFactory(registry) as Histogram<'pool'>),
    jobs,
  );
  (gauge.useFactory as (r: Registry, s: ExtractionService) => Gauge)(registry, sut);
  afterAll(() => sut.onApplicationShutdown());

  it('extracts PDF, docx and HTML text in child processes, several at once', async () => {
    const texts = await Promise.all([
      sut.documentText('pdf', buildPdf(['first pangolin'])),
      sut.documentText('docx', buildDocx(['second pangolin'])),
      sut.documentText('pdf', buildPdf(['third (pangolin)'])),
      htmlText(
        sut,
        '<html><head><script>evil()</script></head><body><p>fourth</p><p>pangolin</p></body></html>',
      ),
      articleText(
        sut,
        '<html><head><title>Fifth</title></head><body><p>a pangolin</p></body></html>',
        'http://x/',
        'markdown',
      ),
    ]);
    expect(texts[0]).toContain('first pangolin');
    expect(texts[1]).toContain('second pangolin');
    expect(texts[2]).toContain('third (pangolin)');
    expect(texts[3]).toContain('fourth\n');
    expect(texts[3]).not.toContain('evil');
    expect(texts[4]).toMatch(/^# Fifth\n\n.*a pangolin/s);
    for (const pid of sut.pool.pids()) expect(pid).not.toBe(process.pid);
  });

  it('prepares an upload of any type in a child: plain text normalised (Stream-Safe, NFC) and chunked there', async () => {
    const chunking = { chunkChars: 100, chunkOverlapChars: 20 };
    const text = `word${'\u0301'.repeat(5000)}${'\u0316'.repeat(5000)} and cafe\u0301 ${'pangolin '.repeat(40)}`;
    const r = await prepareDocument(sut, Buffer.from(text), 'marks.txt', chunking);
    expect(r.contentType).toBe('text/plain');
    expect(r.text).toContain('café');
    expect(r.text.split('\u034f')).toHaveLength(Math.floor((10_000 - 1) / 30) + 1);
    expect(r.ranges.constructor.name).toBe('Uint32Array'); // (structured clone: another realm under Jest)
    expect(r.ranges.length).toBeGreaterThan(2);
    const csv = await prepareDocument(sut, Buffer.from('a,b\n1,2\n3,4\n'), 'x.csv', chunking);
    expect(csv).toMatchObject({ contentType: 'text/csv', text: 'a,b\n1,2\n3,4' });
    await expect(prepareDocument(sut, buildZip([['a.txt', 'x']]), 'x.txt', chunking)).rejects.toMatchObject({
      name: 'DocumentRefusal',
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it('turns a parser failure into ExtractionError with its reason, and keeps the child', async () => {
    await expect(sut.documentText('pdf', Buffer.from('%PDF-1.7\ngarbage'))).rejects.toMatchObject({
      name: 'ExtractionError',
      reason: 'parse_error',
    });
    await expect(
      sut.documentText('docx', buildZip([['readme.txt', 'not a word file']])),
    ).rejects.toBeInstanceOf(ExtractionError);
    await expect(sut.documentText('docx', Buffer.from('PK\x03\x04 cut short'))).rejects.toMatchObject({
      reason: 'corrupt_archive',
    });
    expect(sut.pool.stats().killed).toEqual({ memory: 0, timeout: 0, cpu: 0, crash: 0 });
  });

  it('refuses text longer than EXTRACTION_MAX_TEXT_CHARS in the child', async () => {
    await expect(sut.documentText('docx', buildDocx(['x'.repeat(6000)]))).rejects.toMatchObject({
      reason: 'text_too_large',
    });
  });

  it('refuses archives in the parent (declared sizes) and in the child (counted sizes)', async () => {
    const before = sut.pool.stats();
    await expect(sut.documentText('docx', expandingDocx(64 * 1024 * 1024))).rejects.toMatchObject({
      name: 'ArchiveRefusal',
      reason: 'zip_size',
    });
    expect(sut.pool.stats()).toEqual(before); // no child was asked
    const lying = await sut
      .documentText('docx', expandingDocx(1024 * 1024 * 1024, { lie: true }))
      .catch((e) => e);
    expect(lying).toBeInstanceOf(ArchiveRefusal);
    expect(lying).toMatchObject({ reason: 'zip_size', details: { declared: 4096 } });
  });

  it('a PDF whose deflate stream passes the RSS limit kills its child (memory); the next one works', async () => {
    await expect(sut.documentText('pdf', deflateBombPdf(1024 * 1024 * 1024))).rejects.toMatchObject({
      name: 'ExtractionError',
      reason: 'memory',
    });
    await expect(sut.documentText('pdf', buildPdf(['after the bomb']))).resolves.toContain('after the bomb');
    const text = await registry.metrics();
    expect(text).toMatch(/^extraction_workers_killed_total\{reason="memory"\} 1$/m);
    expect(text).toMatch(/^extraction_workers\{state="busy"\} 0$/m);
    expect(text).toMatch(/^extraction_workers\{state="queued"\} 0$/m);
    expect(live.poolSnapshot().extraction).toMatchObject({ limit: 2, active: 0, queued: 0 });
    expect(live.section('extraction')).toMatchObject({ killed: { memory: 1 } });
  });
});
