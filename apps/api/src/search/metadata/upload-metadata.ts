import { ValidationFailedError } from '@app/validation';
import { Metadata, parseUploadMetadata } from './metadata';

export const METADATA_FIELD = 'metadata';

/**
 * The `metadata` field of one upload request. Files are stored one at a time as they arrive (issue 25), so
 * the field must come before the files it describes: it is parsed and checked as soon as it arrives, and a
 * bad one fails the request before any file is stored. A `metadata` field after a file, or a second one, is
 * refused (400): files before it were already stored without metadata and are listed in the answer.
 */
export class UploadMetadata {
  private byFile?: Map<string, Metadata>;
  private readonly used = new Set<string>();

  constructor(private readonly maxFiles: number) {}

  onField(field: { name: string; value: string; truncated: boolean }, filesBefore: number): void {
    if (field.name !== METADATA_FIELD) return;
    if (filesBefore > 0)
      throw new ValidationFailedError({
        [METADATA_FIELD]: ['the metadata field must come before the files in the multipart body'],
      });
    if (this.byFile)
      throw new ValidationFailedError({ [METADATA_FIELD]: ['send one metadata field per upload'] });
    this.byFile = parseUploadMetadata(field.value, field.truncated, this.maxFiles);
  }

  /** The user's metadata for a file, by the name it was sent with ({} when none was given). */
  forFile(filename: string): Metadata {
    const metadata = this.byFile?.get(filename);
    if (!metadata) return {};
    this.used.add(filename);
    return metadata;
  }

  /** Filenames the metadata named that no file of the upload had. */
  unmatched(): string[] {
    return [...(this.byFile?.keys() ?? [])].filter((name) => !this.used.has(name));
  }
}
