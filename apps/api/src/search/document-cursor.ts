import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { AppError } from '@app/errors';

/**
 * Opaque document-list cursors (issue 10). The list is ordered by `search_documents.seq`, a sequence
 * shared by every tenant and store: handed out in clear, the gap between two of a tenant's own cursors
 * would tell how many documents everybody else uploaded meanwhile. A cursor is therefore the position
 * sealed with AES-256-GCM under a server key, with the tenant and the store as additional authenticated
 * data:
 *
 * - it reveals nothing (the sequence number is encrypted, a fresh IV makes two cursors for the same
 *   position differ);
 * - it cannot be forged or altered (the tag), and a cursor of another store or tenant — or of a store
 *   deleted and created again under the same name (a new store id) — fails the tag and is refused;
 * - every replica reads the same key (SearchRepository keeps it in the database, generated on first use),
 *   so a cursor survives a restart and works on any replica.
 *
 * Layout (base64url, 50 characters): version byte · IV (12) · sealed position (8) · tag (16).
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const POSITION_BYTES = 8;
const TOKEN_BYTES = 1 + IV_BYTES + POSITION_BYTES + TAG_BYTES;
/** Characters of a well-formed cursor (the DTO refuses anything else before the service runs). */
export const CURSOR_PATTERN = /^[A-Za-z0-9_-]{50}$/;

/** A cursor that is not one this server issued for this tenant's store: 400 VALIDATION_FAILED naming it. */
export class InvalidCursorError extends AppError {
  constructor() {
    const message = 'cursor must be the nextCursor of a previous page of this store';
    super(400, 'VALIDATION_FAILED', `Invalid request: ${message}`, { fields: { cursor: [message] } });
  }
}

export class DocumentCursors {
  private readonly key: Buffer;

  /** `secret`: the server's cursor secret (≥ 32 random bytes); the AES key is derived from it. */
  constructor(secret: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'atrium document cursor v1', 32));
  }

  private static aad(tenantId: string, storeId: string): Buffer {
    return Buffer.from(`${VERSION}\0${tenantId}\0${storeId}`, 'utf8');
  }

  seal(tenantId: string, storeId: string, position: number): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(DocumentCursors.aad(tenantId, storeId));
    const plain = Buffer.alloc(POSITION_BYTES);
    plain.writeBigUInt64BE(BigInt(position));
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  /** The position a cursor holds; InvalidCursorError when it is malformed, forged or another store's. */
  open(tenantId: string, storeId: string, cursor: string): number {
    const raw = CURSOR_PATTERN.test(cursor) ? Buffer.from(cursor, 'base64url') : undefined;
    if (!raw || raw.length !== TOKEN_BYTES || raw[0] !== VERSION) throw new InvalidCursorError();
    const iv = raw.subarray(1, 1 + IV_BYTES);
    const sealed = raw.subarray(1 + IV_BYTES, 1 + IV_BYTES + POSITION_BYTES);
    const tag = raw.subarray(1 + IV_BYTES + POSITION_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(DocumentCursors.aad(tenantId, storeId));
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(sealed), decipher.final()]);
      return Number(plain.readBigUInt64BE());
    } catch {
      throw new InvalidCursorError();
    }
  }
}
