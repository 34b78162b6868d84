import { deflateRawSync } from 'node:zlib';
import { buildDocx } from '../../../../test/fixtures/documents/builders';
import { expandingDocx, manyEntriesDocx, zipArchive } from '../../../../test/hostile/payloads';
import {
  ArchiveLimits,
  ArchiveRefusal,
  inspectArchive,
  readCentralDirectory,
  verifyInflatedSizes,
  ZipFormatError,
} from './zip-directory';

const MiB = 1024 * 1024;
const LIMITS: ArchiveLimits = { maxEntries: 100, maxUncompressedBytes: 10 * MiB, maxRatio: 100 };

const EOCD = 0x06054b50;
function eocdOffset(zip: Buffer): number {
  const sig = Buffer.alloc(4);
  sig.writeUInt32LE(EOCD);
  return zip.lastIndexOf(sig);
}

function refusal(fn: () => unknown): ArchiveRefusal {
  try {
    fn();
  } catch (err) {
    if (err instanceof ArchiveRefusal) return err;
    throw err;
  }
  throw new Error('no refusal');
}

/**
 * One entry in zip64 form: every size and count in the fixed records saturated (0xFFFF / 0xFFFFFFFF),
 * the real values in the entry's zip64 extra field and the zip64 end records. `declared` may lie.
 */
function zip64Archive(
  content: Buffer,
  declared = content.length,
  opts: { extra?: boolean; locator?: boolean } = {},
): Buffer {
  const packed = deflateRawSync(content);
  const name = Buffer.from('word/document.xml');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(45, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(0xffffffff, 18);
  local.writeUInt32LE(0xffffffff, 22);
  local.writeUInt16LE(name.length, 26);
  const extra = Buffer.alloc(opts.extra === false ? 0 : 20);
  if (opts.extra !== false) {
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(16, 2);
    extra.writeBigUInt64LE(BigInt(declared), 4);
    extra.writeBigUInt64LE(BigInt(packed.length), 12);
  }
  const record = Buffer.alloc(46);
  record.writeUInt32LE(0x02014b50, 0);
  record.writeUInt16LE(45, 4);
  record.writeUInt16LE(45, 6);
  record.writeUInt16LE(8, 10);
  record.writeUInt32LE(0xffffffff, 20);
  record.writeUInt32LE(0xffffffff, 24);
  record.writeUInt16LE(name.length, 28);
  record.writeUInt16LE(extra.length, 30);
  record.writeUInt32LE(0, 42);
  const body = Buffer.concat([local, name, packed]);
  const directory = Buffer.concat([record, name, extra]);
  const end64 = Buffer.alloc(56);
  end64.writeUInt32LE(0x06064b50, 0);
  end64.writeBigUInt64LE(44n, 4);
  end64.writeUInt16LE(45, 12);
  end64.writeUInt16LE(45, 14);
  end64.writeBigUInt64LE(1n, 24);
  end64.writeBigUInt64LE(1n, 32);
  end64.writeBigUInt64LE(BigInt(directory.length), 40);
  end64.writeBigUInt64LE(BigInt(body.length), 48);
  const locator = Buffer.alloc(opts.locator === false ? 0 : 20);
  if (opts.locator !== false) {
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(body.length + directory.length), 8);
    locator.writeUInt32LE(1, 16);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(EOCD, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([body, directory, end64, locator, end]);
}

describe('readCentralDirectory', () => {
  it('lists the entries of a docx with their declared sizes, inflating nothing', () => {
    const dir = readCentralDirectory(buildDocx(['hello']), 100);
    expect(dir.entries.map((e) => e.name)).toEqual([
      '[Content_Types].xml',
      '_rels/.rels',
      'word/document.xml',
    ]);
    expect(dir.entries.every((e) => e.method === 8 && e.uncompressedSize > 0 && e.compressedSize > 0)).toBe(
      true,
    );
    expect(dir.zip64).toBe(false);
  });

  it('counts the records in the directory, not the count the end record declares', () => {
    const zip = zipArchive(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.xml`, content: '<a/>' })));
    const end = eocdOffset(zip);
    zip.writeUInt16LE(1, end + 8);
    zip.writeUInt16LE(1, end + 10); // "one entry"
    expect(readCentralDirectory(zip, 100).entries).toHaveLength(5);
    expect(refusal(() => inspectArchive(zip, { ...LIMITS, maxEntries: 3 }))).toMatchObject({
      reason: 'zip_entries',
      details: { limit: 3 },
    });
  });

  it('stops decoding one record past the limit (5,000 entries, limit 10)', () => {
    const dir = readCentralDirectory(manyEntriesDocx(5000), 10);
    expect(dir.entries).toHaveLength(11);
  });

  it('refuses a truncated archive: no end record, or a directory the file does not hold', () => {
    const zip = buildDocx(['hello']);
    expect(() => readCentralDirectory(zip.subarray(0, zip.length - 30), 100)).toThrow(ZipFormatError);
    const end = eocdOffset(zip);
    // the directory cut out, the end record kept: it now claims bytes that are not there
    const cut = Buffer.concat([zip.subarray(0, end - 40), zip.subarray(end)]);
    expect(() => readCentralDirectory(cut, 100)).toThrow(/claims \d+ bytes the file does not have/);
    // a record whose name would run past the end of the file
    const longName = Buffer.from(zip);
    longName.writeUInt16LE(60000, longName.readUInt32LE(end + 16) + 28);
    expect(() => readCentralDirectory(longName, 100)).toThrow(/runs past the end of the file/);
    expect(() => readCentralDirectory(Buffer.from('PK\x03\x04 not really a zip'), 100)).toThrow(
      ZipFormatError,
    );
  });

  it('refuses an end record that declares entries where there are none', () => {
    const zip = buildDocx(['hello']);
    const end = eocdOffset(zip);
    const offset = zip.readUInt32LE(end + 16);
    const size = zip.readUInt32LE(end + 12);
    // overwrite the first record's signature: the directory is where declared but holds no record
    zip.writeUInt32LE(0, offset);
    expect(size).toBeGreaterThan(0);
    expect(() => readCentralDirectory(zip, 100)).toThrow(/declares 3 entries and holds none/);
  });

  it('finds the archive behind prepended bytes (a self-extractor stub), as a zip reader does', async () => {
    const zip = Buffer.concat([Buffer.alloc(100, 0x4d), buildDocx(['hello'])]);
    const dir = readCentralDirectory(zip, 100);
    expect(dir.zero).toBe(100);
    expect(dir.entries).toHaveLength(3);
    await expect(verifyInflatedSizes(zip, LIMITS)).resolves.toBeGreaterThan(0);
  });

  it('reads zip64 records: saturated fields, real sizes from the extra field and the zip64 end record', async () => {
    const content = Buffer.from('<w:document>zip64</w:document>');
    const dir = readCentralDirectory(zip64Archive(content), 100);
    expect(dir.zip64).toBe(true);
    expect(dir.entries).toEqual([
      expect.objectContaining({
        name: 'word/document.xml',
        uncompressedSize: content.length,
        localHeaderOffset: 0,
      }),
    ]);
    await expect(verifyInflatedSizes(zip64Archive(content), LIMITS)).resolves.toBe(content.length);
    // a 5 GiB declaration only a zip64 field can make
    expect(refusal(() => inspectArchive(zip64Archive(content, 5 * 1024 * MiB), LIMITS))).toMatchObject({
      reason: 'zip_size',
      details: { declared: 5 * 1024 * MiB },
    });
  });

  it('refuses zip64 markers without their records', () => {
    const content = Buffer.from('<a/>');
    expect(() =>
      readCentralDirectory(zip64Archive(content, content.length, { locator: false }), 100),
    ).toThrow(/locator/);
    expect(() => readCentralDirectory(zip64Archive(content, content.length, { extra: false }), 100)).toThrow(
      /no zip64 extra field/,
    );
  });
});

describe('inspectArchive (declared sizes)', () => {
  it('passes an ordinary docx', () => {
    expect(inspectArchive(buildDocx(['a', 'b']), LIMITS).entries).toHaveLength(3);
  });

  it('refuses a total uncompressed size over the limit first (zip_size), then a dense entry (zip_ratio)', () => {
    expect(refusal(() => inspectArchive(expandingDocx(20 * MiB), LIMITS))).toMatchObject({
      reason: 'zip_size',
      details: { limit: 10 * MiB },
    });
    const dense = refusal(() => inspectArchive(expandingDocx(5 * MiB), LIMITS));
    expect(dense.reason).toBe('zip_ratio');
    expect(dense.details.ratio).toBeGreaterThan(100);
    expect(dense.message).toMatch(/entry "word\/document\.xml" expands \d+ times/);
  });

  it('judges the whole archive too: many dense entries each under the 1 MiB floor', () => {
    const zeros = Buffer.alloc(900 * 1024);
    const zip = zipArchive([1, 2, 3].map((i) => ({ name: `z${i}.xml`, content: zeros })));
    expect(refusal(() => inspectArchive(zip, LIMITS))).toMatchObject({ reason: 'zip_ratio' });
    // one such entry alone is small enough not to be judged
    expect(() => inspectArchive(zipArchive([{ name: 'z.xml', content: zeros }]), LIMITS)).not.toThrow();
  });
});

describe('verifyInflatedSizes (counting while inflating)', () => {
  it('returns the inflated total of an honest archive', async () => {
    const zip = zipArchive([
      { name: 'a.xml', content: 'x'.repeat(5000) },
      { name: 'b.xml', content: 'hello' },
    ]);
    await expect(verifyInflatedSizes(zip, LIMITS)).resolves.toBe(5005);
  });

  it('stops at the first byte past what an entry declares: a 1 GiB expansion that declares 4 KiB', async () => {
    const zip = expandingDocx(1024 * MiB, { lie: true });
    expect(() => inspectArchive(zip, LIMITS)).not.toThrow(); // the directory alone cannot tell
    await expect(verifyInflatedSizes(zip, LIMITS)).rejects.toMatchObject({
      name: 'ArchiveRefusal',
      reason: 'zip_size',
      details: { declared: 4096 },
    });
  });

  it('refuses unknown compression methods, bad deflate data and a missing local header', async () => {
    const method = zipArchive([{ name: 'a.xml', content: 'hello' }]);
    const end = eocdOffset(method);
    method.writeUInt16LE(99, method.readUInt32LE(end + 16) + 10);
    await expect(verifyInflatedSizes(method, LIMITS)).rejects.toThrow(/compression method 99/);

    const garbage = zipArchive([
      { name: 'a.xml', content: { data: Buffer.from([0xff, 0xff, 0xff, 0xff]), size: 10, crc: 0 } },
    ]);
    await expect(verifyInflatedSizes(garbage, LIMITS)).rejects.toBeInstanceOf(ZipFormatError);

    const noLocal = zipArchive([{ name: 'a.xml', content: 'hello' }]);
    noLocal.writeUInt32LE(0, 0);
    await expect(verifyInflatedSizes(noLocal, LIMITS)).rejects.toThrow(/no local header/);
  });
});
