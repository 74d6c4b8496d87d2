import { createCipheriv, createHash } from 'node:crypto';

const KEY_MATERIAL_LABEL = 'kmesim/key-material/v1';
const PRF_KEY_CACHE_LIMIT = 16;

const prfKeyCache = new Map<string, Buffer>();

function derivePrfKey(seed: string): Buffer {
  const cached = prfKeyCache.get(seed);
  if (cached !== undefined) {
    return cached;
  }
  const key = createHash('sha256').update(encodeFields([KEY_MATERIAL_LABEL, seed])).digest();
  if (prfKeyCache.size >= PRF_KEY_CACHE_LIMIT) {
    const oldest = prfKeyCache.keys().next();
    if (oldest.done !== true) {
      prfKeyCache.delete(oldest.value);
    }
  }
  prfKeyCache.set(seed, key);
  return key;
}

// Length-prefixing every field keeps ("ab","c") and ("a","bc") from colliding.
function encodeFields(fields: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const field of fields) {
    const bytes = Buffer.from(field, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

export function deriveKeyBytes(seed: string, linkId: string, keyId: string, sizeBits: number): Uint8Array {
  if (!Number.isSafeInteger(sizeBits) || sizeBits <= 0 || sizeBits % 8 !== 0) {
    throw new RangeError(`deriveKeyBytes: sizeBits must be a positive multiple of 8, got ${String(sizeBits)}`);
  }
  const iv = createHash('sha256')
    .update(encodeFields([linkId, keyId, String(sizeBits)]))
    .digest()
    .subarray(0, 16);
  const cipher = createCipheriv('aes-256-ctr', derivePrfKey(seed), iv);
  const keystream = Buffer.concat([cipher.update(Buffer.alloc(sizeBits / 8)), cipher.final()]);
  return new Uint8Array(keystream);
}

export function hashKeyBytes(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
}

/** The bytes of a delivered key: derived on demand, never stored. */
export function materialOf(seed: string, key: { readonly keyId: string; readonly materialLabel: string; readonly sizeBits: number }): Uint8Array {
  return deriveKeyBytes(seed, key.materialLabel, key.keyId, key.sizeBits);
}
