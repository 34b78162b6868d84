import { createInflateRaw } from 'node:zlib';

// Record signatures (APPNOTE.TXT 4.3).
const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END_OF_CENTRAL = 0x06064b50;
const ZIP64_EXTRA = 0x0001;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

/** Below this many bytes an entry's (or archive's) ratio is not judged: small, repetitive XML compresses well. */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  zip64: boolean;
  /** Bytes prepended before the archive proper (self-extractors); offsets are relative to it. */
  zero: number;
}

export interface ArchiveLimits {
  maxEntries: number;
  /** Sum of the entries' uncompressed sizes. */
  maxUncompressedBytes: number;
  /** Uncompressed / compressed, per entry and for the whole archive (above RATIO_FLOOR_BYTES). */
  maxRatio: number;
}

export type ArchiveRefusalReason = 'zip_ratio' | 'zip_size' | 'zip_entries';

/** The archive passes a configured limit: refused before (or while) anything is inflated. */
export class ArchiveRefusal extends Error {
  constructor(
    readonly reason: ArchiveRefusalReason,
    message: string,
    readonly details: Record<string, number | string> = {},
  ) {
    super(message);
    this.name = 'ArchiveRefusal';
  }
}

/** Not a zip archive a reader could open: no end record, a directory outside the file, a cut record. */
export class ZipFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipFormatError';
  }
}

/** An entry name as messages show it: quoted, and short (names are the uploader's text). */
function label(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

function u64(data: Buffer, at: number): number {
  const v = data.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ZipFormatError('a 64-bit size or offset is out of range');
  return Number(v);
}

function need(data: Buffer, at: number, bytes: number, what: string): void {
  if (at < 0 || at + bytes > data.length) throw new ZipFormatError(`${what} runs past the end of the file`);
}

/** The last occurrence of a signature: the record a zip reader (JSZip, inside mammoth) uses too. */
function lastSignature(data: Buffer, signature: number, before = data.length): number {
  const sig = Buffer.alloc(4);
  sig.writeUInt32LE(signature);
  return data.lastIndexOf(sig, before - 4);
}

/**
 * Reads the central directory of a zip archive without inflating anything. It finds the records the
 * way JSZip (used by mammoth) does — last end-of-central-directory signature, zip64 records when a
 * field is saturated, central records read while their signature repeats (not trusting the declared
 * count) — so the entries judged here are the entries the parser would open. At most
 * `maxEntries + 1` records are decoded: one more is enough to know the archive has too many.
 */
export function readCentralDirectory(data: Buffer, maxEntries: number): ZipDirectory {
  const eocd = lastSignature(data, END_OF_CENTRAL);
  if (eocd < 0) throw new ZipFormatError('no end of central directory record');
  need(data, eocd, 22, 'the end of central directory record');
  let declaredEntries = data.readUInt16LE(eocd + 10);
  let cdSize = data.readUInt32LE(eocd + 12);
  let cdOffset = data.readUInt32LE(eocd + 16);
  const zip64 =
    data.readUInt16LE(eocd + 4) === U16_MAX ||
    data.readUInt16LE(eocd + 6) === U16_MAX ||
    data.readUInt16LE(eocd + 8) === U16_MAX ||
    declaredEntries === U16_MAX ||
    cdSize === U32_MAX ||
    cdOffset === U32_MAX;
  let expectedEnd = eocd;
  if (zip64) {
    const locator = lastSignature(data, ZIP64_LOCATOR, eocd);
    if (locator < 0)
      throw new ZipFormatError('zip64 fields without a zip64 end of central directory locator');
    need(data, locator, 20, 'the zip64 locator');
    let record = u64(data, locator + 8);
    if (record + 4 > data.length || data.readUInt32LE(record) !== ZIP64_END_OF_CENTRAL) {
      record = lastSignature(data, ZIP64_END_OF_CENTRAL, locator);
      if (record < 0) throw new ZipFormatError('no zip64 end of central directory record');
    }
    need(data, record, 56, 'the zip64 end of central directory record');
    const recordSize = u64(data, record + 4);
    declaredEntries = u64(data, record + 32);
    cdSize = u64(data, record + 40);
    cdOffset = u64(data, record + 48);
    // JSZip's arithmetic: where the directory should end given the zip64 records' own sizes
    expectedEnd = eocd - 20 - 12 - recordSize;
  }
  const extra = expectedEnd - (cdOffset + cdSize);
  if (extra < 0)
    throw new ZipFormatError(`the central directory claims ${-extra} bytes the file does not have`);
  // Bytes before the archive (a self-extractor stub) shift every offset, unless a record is where declared.
  const zero = extra > 0 && !isSignature(data, cdOffset, CENTRAL_HEADER) ? extra : 0;
  const entries: ZipEntry[] = [];
  let at = zero + cdOffset;
  while (isSignature(data, at, CENTRAL_HEADER)) {
    if (entries.length === maxEntries) {
      // One more than allowed: the count is the answer, the rest of the directory is not read.
      entries.push(readCentralRecord(data, at).entry);
      return { entries, zip64, zero };
    }
    const { entry, next } = readCentralRecord(data, at);
    entries.push(entry);
    at = next;
  }
  if (entries.length === 0 && declaredEntries !== 0)
    throw new ZipFormatError(`the directory declares ${declaredEntries} entries and holds none`);
  return { entries, zip64, zero };
}

function isSignature(data: Buffer, at: number, signature: number): boolean {
  return at >= 0 && at + 4 <= data.length && data.readUInt32LE(at) === signature;
}

function readCentralRecord(data: Buffer, at: number): { entry: ZipEntry; next: number } {
  need(data, at, 46, 'a central directory record');
  const nameLength = data.readUInt16LE(at + 28);
  const extraLength = data.readUInt16LE(at + 30);
  const commentLength = data.readUInt16LE(at + 32);
  need(data, at + 46, nameLength + extraLength + commentLength, 'a central directory record');
  const entry: ZipEntry = {
    name: data.toString('utf8', at + 46, at + 46 + nameLength),
    flags: data.readUInt16LE(at + 8),
    method: data.readUInt16LE(at + 10),
    compressedSize: data.readUInt32LE(at + 20),
    uncompressedSize: data.readUInt32LE(at + 24),
    localHeaderOffset: data.readUInt32LE(at + 42),
  };
  if (
    entry.uncompressedSize === U32_MAX ||
    entry.compressedSize === U32_MAX ||
    entry.localHeaderOffset === U32_MAX
  )
    readZip64Extra(data, at + 46 + nameLength, extraLength, entry);
  return { entry, next: at + 46 + nameLength + extraLength + commentLength };
}

/** The zip64 extra field holds, in this order, only the values saturated in the fixed record. */
function readZip64Extra(data: Buffer, start: number, length: number, entry: ZipEntry): void {
  let at = start;
  while (at + 4 <= start + length) {
    const id = data.readUInt16LE(at);
    const size = data.readUInt16LE(at + 2);
    if (at + 4 + size > start + length) break;
    if (id === ZIP64_EXTRA) {
      let field = at + 4;
      const take = (): number => {
        if (field + 8 > at + 4 + size) throw new ZipFormatError('a zip64 extra field is too short');
        const v = u64(data, field);
        field += 8;
        return v;
      };
      if (entry.uncompressedSize === U32_MAX) entry.uncompressedSize = take();
      if (entry.compressedSize === U32_MAX) entry.compressedSize = take();
      if (entry.localHeaderOffset === U32_MAX) entry.localHeaderOffset = take();
      return;
    }
    at += 4 + size;
  }
  throw new ZipFormatError(`entry ${label(entry.name)} has saturated sizes and no zip64 extra field`);
}

/**
 * Judges the declared sizes of an archive against the limits (no inflating): the entry count, the sum of
 * uncompressed sizes, and the compression ratio of each entry and of the whole archive once past
 * RATIO_FLOOR_BYTES. Throws ArchiveRefusal (the limit passed) or ZipFormatError (unreadable).
 */
export function inspectArchive(data: Buffer, limits: ArchiveLimits): ZipDirectory {
  const dir = readCentralDirectory(data, limits.maxEntries);
  if (dir.entries.length > limits.maxEntries)
    throw new ArchiveRefusal('zip_entries', `The archive holds more than ${limits.maxEntries} entries`, {
      limit: limits.maxEntries,
    });
  let uncompressed = 0;
  let compressed = 0;
  let densest: ZipEntry | undefined;
  for (const e of dir.entries) {
    uncompressed += e.uncompressedSize;
    compressed += e.compressedSize;
    if (
      e.uncompressedSize > RATIO_FLOOR_BYTES &&
      (!densest || e.uncompressedSize * densest.compressedSize > densest.uncompressedSize * e.compressedSize)
    )
      densest = e;
  }
  // size first: "expands to 1 GiB" says more than the ratio that comes with it
  if (uncompressed > limits.maxUncompressedBytes)
    throw new ArchiveRefusal(
      'zip_size',
      `The archive expands to ${uncompressed} bytes, more than the limit of ${limits.maxUncompressedBytes}`,
      { limit: limits.maxUncompressedBytes, declared: uncompressed },
    );
  if (densest && densest.uncompressedSize > limits.maxRatio * densest.compressedSize)
    throw ratioRefusal(limits.maxRatio, densest.uncompressedSize, densest.compressedSize, densest.name);
  if (uncompressed > RATIO_FLOOR_BYTES && uncompressed > limits.maxRatio * Math.max(compressed, 1))
    throw ratioRefusal(limits.maxRatio, uncompressed, compressed);
  return dir;
}

function ratioRefusal(
  limit: number,
  uncompressed: number,
  compressed: number,
  entry?: string,
): ArchiveRefusal {
  const ratio = Math.round(uncompressed / Math.max(compressed, 1));
  return new ArchiveRefusal(
    'zip_ratio',
    `The archive${entry ? ` entry ${label(entry)}` : ''} expands ${ratio} times, more than the limit of ${limit}`,
    { limit, ratio },
  );
}

/**
 * Inflates every entry while counting, keeping nothing: declared sizes can lie, so an entry that yields
 * more bytes than it declares is refused the moment it does (inflation stops there), and so is an
 * archive whose counted total passes the limit. Run in the extraction child, after inspectArchive passed
 * in the parent, right before the parser opens the archive.
 */
export async function verifyInflatedSizes(data: Buffer, limits: ArchiveLimits): Promise<number> {
  const dir = inspectArchive(data, limits);
  let total = 0;
  for (const e of dir.entries) {
    const start = dataStart(data, dir.zero + e.localHeaderOffset, e.name);
    need(data, start, e.compressedSize, `the data of entry ${label(e.name)}`);
    const packed = data.subarray(start, start + e.compressedSize);
    let size: number;
    if (e.method === 0) size = packed.length;
    else if (e.method === 8) size = await inflatedSize(packed, e.uncompressedSize, e.name);
    else throw new ZipFormatError(`entry ${label(e.name)} uses compression method ${e.method}`);
    if (size !== e.uncompressedSize && e.method === 0)
      throw new ZipFormatError(`stored entry ${label(e.name)} is not the size it declares`);
    total += size;
    if (total > limits.maxUncompressedBytes)
      throw new ArchiveRefusal(
        'zip_size',
        `The archive expands to more than the limit of ${limits.maxUncompressedBytes} bytes`,
        { limit: limits.maxUncompressedBytes },
      );
  }
  return total;
}

/**
 * The stored bytes of one entry (still deflated when its method is 8), located as verifyInflatedSizes
 * locates them: for readers that inflate a part themselves (the extraction child's own parsers).
 */
export function entryBytes(data: Buffer, dir: ZipDirectory, entry: ZipEntry): Buffer {
  const start = dataStart(data, dir.zero + entry.localHeaderOffset, entry.name);
  need(data, start, entry.compressedSize, `the data of entry ${label(entry.name)}`);
  if (entry.method !== 0 && entry.method !== 8)
    throw new ZipFormatError(`entry ${label(entry.name)} uses compression method ${entry.method}`);
  return data.subarray(start, start + entry.compressedSize);
}

function dataStart(data: Buffer, offset: number, name: string): number {
  if (!isSignature(data, offset, LOCAL_HEADER))
    throw new ZipFormatError(`entry ${label(name)} has no local header`);
  need(data, offset, 30, `the local header of ${label(name)}`);
  return offset + 30 + data.readUInt16LE(offset + 26) + data.readUInt16LE(offset + 28);
}

/** Bytes a raw deflate stream inflates to, stopping (refused) at one byte past what it declared. */
function inflatedSize(packed: Buffer, declared: number, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const inflate = createInflateRaw();
    let size = 0;
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      inflate.destroy();
      reject(err);
    };
    inflate.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > declared)
        fail(
          new ArchiveRefusal(
            'zip_size',
            `The archive entry ${label(name)} expands beyond the ${declared} bytes it declares`,
            { declared },
          ),
        );
    });
    inflate.on('error', (err) =>
      fail(new ZipFormatError(`entry ${label(name)} is not valid deflate data: ${err.message}`)),
    );
    inflate.on('end', () => {
      if (done) return;
      done = true;
      resolve(size);
    });
    inflate.end(packed);
  });
}
