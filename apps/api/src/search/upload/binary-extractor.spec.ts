import { buildDocx, buildPdf, buildZip } from '../../../../../test/fixtures/documents/builders';
import { BinaryExtractor } from './binary-extractor';

describe('BinaryExtractor (real worker threads)', () => {
  it('extracts PDF and docx text, several at once through a bounded pool', async () => {
    const sut = new BinaryExtractor({ timeoutMs: 20000, maxHeapMb: 256, concurrency: 1 });
    const texts = await Promise.all([
      sut.extract('pdf', buildPdf(['first pangolin'])),
      sut.extract('docx', buildDocx(['second pangolin'])),
      sut.extract('pdf', buildPdf(['third (pangolin)'])),
    ]);
    expect(texts[0]).toContain('first pangolin');
    expect(texts[1]).toContain('second pangolin');
    expect(texts[2]).toContain('third (pangolin)');
  });

  it('rejects a corrupt file with the parser message', async () => {
    const sut = new BinaryExtractor({ timeoutMs: 20000, maxHeapMb: 256, concurrency: 2 });
    await expect(sut.extract('docx', buildZip([['readme.txt', 'not a word file']]))).rejects.toThrow();
    await expect(sut.extract('pdf', Buffer.from('%PDF-1.7\ngarbage'))).rejects.toThrow();
  });

  it('gives up on an extraction that takes longer than the timeout', async () => {
    const sut = new BinaryExtractor({ timeoutMs: 1, maxHeapMb: 256, concurrency: 1 });
    await expect(sut.extract('pdf', buildPdf(['slow']))).rejects.toThrow(/longer than 1 ms/);
  });
});
