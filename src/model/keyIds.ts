import { hash } from 'node:crypto';
import { cipherFor, encodeFields } from './keyMaterial.js';

const KEY_ID_LABEL = 'kmesim/key-id/v2';
const CANONICAL_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SEQUENTIAL_KEY_ID = /^qk_.+_\d{6,}$/;

function assertSequenceNumber(functionName: string, seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`${functionName}: seq must be a non-negative integer, got ${String(seq)}`);
  }
}

// A key ID is one AES-256 block: the cipher keyed from (label, seed) encrypts (pool tag ‖ sequence number),
// where the pool tag is 64 bits of SHA-256(label, pool ID). AES is a permutation, so within a pool no two
// sequence numbers share an ID before the version bits are set. IDs are derived 64 at a time in one
// cipher call and kept per pool: a pool hands out its IDs in order, so the next ones are nearly always
// ready. The batch is aligned to the sequence number, so an ID never depends on the order of requests.
const ID_BATCH = 64;
const BATCH_CACHE_LIMIT = 8192;

interface IdBatch {
  readonly first: number;
  readonly ids: readonly string[];
}

const poolTags = new Map<string, Buffer>();
/** seed → pool ID → the batch last derived: two lookups on strings whose hashes V8 already holds. */
const batches = new Map<string, Map<string, IdBatch>>();

function poolTagFor(poolId: string): Buffer {
  let tag = poolTags.get(poolId);
  if (tag === undefined) {
    if (poolTags.size >= BATCH_CACHE_LIMIT) poolTags.clear();
    tag = hash('sha256', encodeFields([KEY_ID_LABEL, poolId]), 'buffer').subarray(0, 8);
    poolTags.set(poolId, tag);
  }
  return tag;
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Where each of the 16 bytes' two hex digits go in the 36 characters of a canonical UUID. */
const UUID_OFFSETS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const uuidText = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

/**
 * The 16 bytes at `at` as a canonical UUID, written as one flat string: a key ID waits in memory as long as
 * its key does, and a string concatenated from slices would keep every slice alive with it (~250 B a key).
 */
function formatUuid(bytes: Buffer, at: number): string {
  for (let i = 0; i < 16; i++) {
    const byte = bytes[at + i] as number;
    const to = UUID_OFFSETS[i] as number;
    uuidText[to] = HEX_DIGITS[byte >> 4] as number;
    uuidText[to + 1] = HEX_DIGITS[byte & 0x0f] as number;
  }
  return uuidText.toString('latin1');
}

function deriveBatch(seed: string, poolId: string, first: number): IdBatch {
  const tag = poolTagFor(poolId);
  const blocks = Buffer.allocUnsafe(16 * ID_BATCH);
  for (let i = 0; i < ID_BATCH; i++) {
    const seq = first + i;
    tag.copy(blocks, i * 16);
    blocks.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), i * 16 + 8);
    blocks.writeUInt32BE(seq >>> 0, i * 16 + 12);
  }
  const out = cipherFor(seed, KEY_ID_LABEL).update(blocks);
  const ids: string[] = [];
  for (let i = 0; i < ID_BATCH; i++) {
    const at = i * 16;
    out[at + 6] = ((out[at + 6] as number) & 0x0f) | 0x40;
    out[at + 8] = ((out[at + 8] as number) & 0x3f) | 0x80;
    ids.push(formatUuid(out, at));
  }
  return { first, ids };
}

export function deriveKeyId(seed: string, poolId: string, seq: number): string {
  assertSequenceNumber('deriveKeyId', seq);
  let ofSeed = batches.get(seed);
  if (ofSeed === undefined) {
    if (batches.size >= 16) batches.clear();
    ofSeed = new Map();
    batches.set(seed, ofSeed);
  }
  let batch = ofSeed.get(poolId);
  if (batch === undefined || seq < batch.first || seq >= batch.first + ID_BATCH) {
    if (ofSeed.size >= BATCH_CACHE_LIMIT) ofSeed.clear();
    batch = deriveBatch(seed, poolId, seq - (seq % ID_BATCH));
    ofSeed.set(poolId, batch);
  }
  return batch.ids[seq - batch.first] as string;
}

export function isCanonicalUuid(value: string): boolean {
  return CANONICAL_UUID.test(value);
}

export function formatSequentialKeyId(saeId: string, seq: number): string {
  if (saeId.length === 0) {
    throw new RangeError('formatSequentialKeyId: saeId must not be empty');
  }
  assertSequenceNumber('formatSequentialKeyId', seq);
  return `qk_${saeId}_${String(seq).padStart(6, '0')}`;
}

export function isSequentialKeyId(value: string): boolean {
  return SEQUENTIAL_KEY_ID.test(value);
}
