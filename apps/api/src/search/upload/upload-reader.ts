import type { Multipart, MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { ValidationFailedError } from '@app/validation';
import { AppError } from '@app/errors';
import { FileRejection, MalformedMultipartError, TooManyFilesError } from '../search.errors';
import { EXTERNAL_ID_FIELD, externalIdProblem, invalidExternalId } from './external-id';
import { unsafeFilenameReason } from './filename';

export interface ReceivedFile {
  filename: string;
  /** process.hrtime.bigint() when the part started arriving. */
  startedAt: bigint;
  /** Set when the file is refused before its content is looked at (name, size). */
  rejection?: FileRejection;
  data?: Buffer;
  bytes: number;
  checksum?: string;
  /** The `externalId` field sent just before this file (the caller's key for it). */
  externalId?: string;
}

export interface UploadLimits {
  maxFiles: number;
  maxFileBytes: number;
  /** Whether an `externalId` field may precede a file (uploads); elsewhere it is a 400. */
  externalIds?: boolean;
}

export const UPLOAD_FIELD = 'files';

/**
 * Reads the `files` parts of a multipart request one at a time. The per-file limit is enforced by the
 * parser while the bytes arrive (nothing past the limit is buffered; the rest of that part is skipped),
 * and each file is handed to `onFile` before the next part is read, so at most one raw file is in
 * memory. Too many files is a 413 for the whole request (TOO_MANY_FILES, naming the limit).
 */
export async function readUpload(
  request: FastifyRequest,
  limits: UploadLimits,
  onFile: (file: ReceivedFile) => Promise<void>,
  /** A plain form field, with how many files came before it; may throw to refuse the request. */
  onField?: (field: { name: string; value: string; truncated: boolean }, filesBefore: number) => void,
): Promise<void> {
  let files = 0;
  let externalId: string | undefined;
  const unexpected = new Set<string>();
  const options: Parameters<FastifyRequest['parts']>[0] & { throwFileSizeLimit: boolean } = {
    // keep the client's name as sent (busboy would strip directories), so "../x" can be refused
    preservePath: true,
    // an oversized file is rejected on its own (truncated flag), not by failing the whole request
    throwFileSizeLimit: false,
    limits: {
      fileSize: limits.maxFileBytes,
      files: limits.maxFiles,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: limits.maxFiles + 20,
      headerPairs: 100,
    },
  };
  const parts = request.parts(options)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Multipart>;
    try {
      next = await parts.next();
    } catch (err) {
      if ((err as { code?: unknown })?.code === 'FST_FILES_LIMIT')
        throw new TooManyFilesError(limits.maxFiles);
      throw asClientError(err);
    }
    if (next.done) break;
    const part = next.value;
    if (part.type !== 'file') {
      // `externalId` names the file part after it
      if (part.fieldname === EXTERNAL_ID_FIELD) {
        if (!limits.externalIds)
          throw invalidExternalId('externalId is only taken by uploads (POST); a replacement keeps the key');
        if (externalId !== undefined)
          throw invalidExternalId('each externalId must be followed by the file it names');
        const value = typeof part.value === 'string' ? part.value : '';
        const problem = externalIdProblem(value, part.valueTruncated);
        if (problem) throw invalidExternalId(problem);
        externalId = value;
        continue;
      }
      // `metadata` (search/metadata): read and checked here, before any file after it is stored
      if (onField && typeof part.value === 'string')
        onField({ name: part.fieldname, value: part.value, truncated: part.valueTruncated }, files);
      continue; // other form fields carry nothing we use
    }
    const file = part;
    if (file.fieldname !== UPLOAD_FIELD) {
      unexpected.add(file.fieldname);
      await drain(file);
      continue;
    }
    files++;
    const received = await receive(file, limits.maxFileBytes);
    if (externalId !== undefined) received.externalId = externalId;
    externalId = undefined;
    await onFile(received);
  }
  if (externalId !== undefined)
    throw invalidExternalId('externalId must come before the file it names (no file followed it)');
  if (unexpected.size)
    throw new ValidationFailedError({
      [UPLOAD_FIELD]: [`files must be sent in the field "files" (got ${[...unexpected].join(', ')})`],
    });
  if (files === 0) throw new ValidationFailedError({ [UPLOAD_FIELD]: ['at least one file is required'] });
}

/**
 * The parser's own limit errors (FST_*: too many files or parts) keep their codes; anything else it throws
 * is a body it could not parse — the client's mistake, not a 500.
 */
function asClientError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('FST_')) return err;
  return new MalformedMultipartError();
}

async function receive(part: MultipartFile, maxFileBytes: number): Promise<ReceivedFile> {
  const startedAt = process.hrtime.bigint();
  const filename = part.filename;
  const unsafe = unsafeFilenameReason(filename);
  if (unsafe) {
    const bytes = await drain(part);
    return {
      filename,
      startedAt,
      bytes,
      rejection: new FileRejection('INVALID_FILENAME', `Unsafe file name: ${unsafe}`),
    };
  }
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of part.file as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      hash.update(chunk);
      chunks.push(chunk);
    }
  } catch (err) {
    throw asClientError(err);
  }
  if (part.file.truncated)
    return {
      filename,
      startedAt,
      bytes,
      rejection: new FileRejection(
        'FILE_TOO_LARGE',
        `The file is larger than the per-file limit of ${maxFileBytes} bytes`,
      ),
    };
  return { filename, startedAt, bytes, data: Buffer.concat(chunks, bytes), checksum: hash.digest('hex') };
}

async function drain(part: MultipartFile): Promise<number> {
  let bytes = 0;
  try {
    for await (const chunk of part.file as AsyncIterable<Buffer>) bytes += chunk.length;
  } catch (err) {
    throw asClientError(err);
  }
  return bytes;
}
