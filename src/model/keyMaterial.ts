// Key material from a PRF: AES-256 in counter mode, keyed from the run's seed. One long-lived AES-ECB
// cipher per seed encrypts the counter blocks (ECB has no state between calls, so one object serves every
// key), with a 96-bit nonce hashed from (link, key ID, size). Both ends of a link, a replay and a
// restarted process derive the same bytes; none is ever stored.
import { createCipheriv, createHmac, hash } from 'node:crypto';

/** The AES cipher createCipheriv makes, named by what it returns (@types/node calls it Cipher, later Cipheriv). */
export type AesCipher = ReturnType<typeof createCipheriv>;

const KEY_MATERIAL_LABEL = 'kmesim/key-material/v2';
const CIPHER_CACHE_LIMIT = 16;

const cipherCache = new Map<string, AesCipher>();

/** The AES-256-ECB cipher keyed by SHA-256(label, seed): one per purpose and seed, kept for reuse. */
export function cipherFor(seed: string, label: string = KEY_MATERIAL_LABEL): AesCipher {
  const cacheKey = label === KEY_MATERIAL_LABEL ? seed : `${label}\u0000${seed}`;
  const cached = cipherCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const key = Buffer.from(hash('sha256', encodeFields([label, seed]), 'buffer'));
  const cipher = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  if (cipherCache.size >= CIPHER_CACHE_LIMIT) {
    const oldest = cipherCache.keys().next();
    if (oldest.done !== true) cipherCache.delete(oldest.value);
  }
  cipherCache.set(cacheKey, cipher);
  return cipher;
}

// Length-prefixing every field keeps ("ab","c") and ("a","bc") from colliding.
export function encodeFields(fields: readonly string[]): Buffer {
  let size = 0;
  for (const field of fields) size += 4 + Buffer.byteLength(field, 'utf8');
  const out = Buffer.allocUnsafe(size);
  writeFields(out, fields);
  return out;
}

/** Writes the length-prefixed fields at the start of `into` (which must be large enough); returns their length. */
function writeFields(into: Buffer, fields: readonly string[]): number {
  let offset = 0;
  for (const field of fields) {
    const length = into.write(field, offset + 4, 'utf8');
    into.writeUInt32BE(length, offset);
    offset += 4 + length;
  }
  return offset;
}

export function deriveKeyBytes(seed: string, linkId: string, keyId: string, sizeBits: number): Uint8Array {
  return deriveMany(seed, [{ materialLabel: linkId, keyId, sizeBits }])[0] as Uint8Array;
}

interface MaterialName {
  readonly keyId: string;
  readonly materialLabel: string;
  readonly sizeBits: number;
}

// The nonce's input, (label, key ID, size) length-prefixed, is written into one reused buffer.
let fieldBuffer = Buffer.allocUnsafe(256);

function nonceOf(label: string, keyId: string, sizeBits: number): Buffer {
  const size = String(sizeBits);
  const most = 12 + 3 * (label.length + keyId.length + size.length);
  if (most > fieldBuffer.length) fieldBuffer = Buffer.allocUnsafe(most * 2);
  return hash('sha256', fieldBuffer.subarray(0, writeFields(fieldBuffer, [label, keyId, size])), 'buffer');
}

/**
 * The bytes of several keys at once: one nonce hash per key and one cipher call for all their counter
 * blocks. Each key's bytes are the same as deriveKeyBytes gives it alone.
 */
function deriveMany(seed: string, keys: readonly MaterialName[]): Uint8Array[] {
  let blocks = 0;
  for (const key of keys) {
    const { sizeBits } = key;
    if (!Number.isSafeInteger(sizeBits) || sizeBits <= 0 || sizeBits % 8 !== 0) {
      throw new RangeError(`deriveKeyBytes: sizeBits must be a positive multiple of 8, got ${String(sizeBits)}`);
    }
    blocks += Math.ceil(sizeBits / 128);
  }
  // Counter blocks nonce(96 bits) ‖ i(32 bits), written word by word: one native call for every block.
  const words = new Uint32Array(blocks * 4);
  let block = 0;
  for (const key of keys) {
    const nonce = nonceOf(key.materialLabel, key.keyId, key.sizeBits);
    const n0 = nonce.readUInt32LE(0);
    const n1 = nonce.readUInt32LE(4);
    const n2 = nonce.readUInt32LE(8);
    const count = Math.ceil(key.sizeBits / 128);
    for (let i = 0; i < count; i++, block++) {
      words[block * 4] = n0;
      words[block * 4 + 1] = n1;
      words[block * 4 + 2] = n2;
      // The counter goes in big-endian, as in AES-CTR.
      words[block * 4 + 3] = ((i & 0xff) << 24) | ((i & 0xff00) << 8) | ((i >>> 8) & 0xff00) | (i >>> 24);
    }
  }
  const keystream = cipherFor(seed).update(Buffer.from(words.buffer));
  const out: Uint8Array[] = [];
  let offset = keystream.byteOffset;
  for (const key of keys) {
    out.push(new Uint8Array(keystream.buffer, offset, key.sizeBits / 8));
    offset += Math.ceil(key.sizeBits / 128) * 16;
  }
  return out;
}

export function hashKeyBytes(bytes: Uint8Array): string {
  return `sha256:${hash('sha256', bytes, 'hex').slice(0, 16)}`;
}

/**
 * A key's bytes named for a trace: an HMAC keyed from the run's seed, so that short keys cannot be found by
 * trying every value. Whoever has the seed can derive every key anyway; whoever has only the trace cannot.
 */
export function keyedKeyHash(seed: string, bytes: Uint8Array): string {
  return `hmac:${createHmac('sha256', `kmesim-trace:${seed}`).update(bytes).digest('hex').slice(0, 16)}`;
}

/** The bytes of a delivered key: derived on demand, never stored. */
export function materialOf(seed: string, key: MaterialName): Uint8Array {
  return deriveMany(seed, [key])[0] as Uint8Array;
}

/** The bytes of every key a step delivered, derived together. */
export function materialsOf(seed: string, keys: readonly MaterialName[]): Uint8Array[] {
  return keys.length === 0 ? [] : deriveMany(seed, keys);
}
