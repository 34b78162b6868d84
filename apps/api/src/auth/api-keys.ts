import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyBinding } from '@app/config';

interface StoredKey {
  digest: Buffer;
  tenant: string;
  fingerprint: string;
}

export interface KeyMatch {
  tenant: string;
  fingerprint: string;
}

/** Presented keys whose digest is remembered (a client sends the same key on every request). */
export const DIGEST_MEMO_SIZE = 1024;

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Looks an API key up in O(1), whatever the number of configured keys: the presented key is hashed
 * (SHA-256, once — the digest is remembered in a bounded memo), the digest is looked up in a map of the
 * configured keys' digests, and the candidate is confirmed with a constant-time comparison of the two
 * digests. Only digests are compared, so neither a key's length nor how much of it matches shows in the
 * timing; the map lookup works on digests too, which an attacker cannot steer towards a stored one.
 *
 * The memo is keyed by the presented string. A lookup in it compares V8's (per-process seeded) string
 * hashes before any characters, so probing it says nothing usable about a remembered key; it holds at
 * most DIGEST_MEMO_SIZE entries (oldest dropped first), so a flood of random keys costs one hash each,
 * as before, and cannot grow memory.
 */
export class ApiKeyStore {
  private readonly byDigest = new Map<string, StoredKey>();
  private readonly memo = new Map<string, Buffer>();

  constructor(
    bindings: ApiKeyBinding[],
    private readonly memoSize = DIGEST_MEMO_SIZE,
  ) {
    for (const b of bindings) {
      const digest = sha256(b.key);
      this.byDigest.set(digest.toString('latin1'), {
        digest,
        tenant: b.tenant,
        fingerprint: `key:${digest.subarray(0, 6).toString('hex')}`,
      });
    }
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** Digests currently remembered (for tests: the memo stays bounded). */
  get memoEntries(): number {
    return this.memo.size;
  }

  find(presented: string): KeyMatch | undefined {
    const digest = this.digestOf(presented);
    const candidate = this.byDigest.get(digest.toString('latin1'));
    if (candidate === undefined || !timingSafeEqual(candidate.digest, digest)) return undefined;
    return candidate;
  }

  private digestOf(presented: string): Buffer {
    let digest = this.memo.get(presented);
    if (digest === undefined) {
      digest = sha256(presented);
      if (this.memo.size >= this.memoSize) this.memo.delete(this.memo.keys().next().value as string);
      this.memo.set(presented, digest);
    }
    return digest;
  }
}

const BEARER = /^Bearer\s+(.+)$/i;

export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = BEARER.exec(auth.trim());
    if (m) return m[1].trim();
  }
  const x = headers['x-api-key'];
  if (typeof x === 'string') {
    const key = x.trim();
    if (key !== '') return key;
  }
  return undefined;
}
