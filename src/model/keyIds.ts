import { hash } from 'node:crypto';
import { encodeFields } from './keyMaterial.js';

const KEY_ID_LABEL = 'kmesim/key-id/v1';
const CANONICAL_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SEQUENTIAL_KEY_ID = /^qk_.+_\d{6,}$/;

function assertSequenceNumber(functionName: string, seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`${functionName}: seq must be a non-negative integer, got ${String(seq)}`);
  }
}

export function deriveKeyId(seed: string, poolId: string, seq: number): string {
  assertSequenceNumber('deriveKeyId', seq);
  const bytes = Buffer.from(hash('sha256', encodeFields([KEY_ID_LABEL, seed, poolId, String(seq)]), 'buffer')).subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
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
