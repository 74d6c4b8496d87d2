// Checks the two key ID schemes: derived UUIDv4 IDs and per-user-pool sequential IDs.
import { expect, it } from 'vitest';
import {
  deriveKeyId,
  formatSequentialKeyId,
  isCanonicalUuid,
  isSequentialKeyId,
} from '../../../src/model/keyIds.js';

const CANONICAL_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

it('derives a canonical lowercase version 4 UUID with the RFC variant', () => {
  for (let seq = 0; seq < 200; seq += 1) {
    const keyId = deriveKeyId('seed', 'pool-AB', seq);
    expect(keyId).toMatch(CANONICAL_V4);
    expect(isCanonicalUuid(keyId)).toBe(true);
  }
});

it('derives the same key ID for the same inputs', () => {
  expect(deriveKeyId('seed', 'pool-AB', 42)).toBe(deriveKeyId('seed', 'pool-AB', 42));
});

it('derives a different key ID when seed, poolId or seq changes', () => {
  const base = deriveKeyId('seed', 'pool-AB', 42);
  expect(deriveKeyId('seed2', 'pool-AB', 42)).not.toBe(base);
  expect(deriveKeyId('seed', 'pool-BA', 42)).not.toBe(base);
  expect(deriveKeyId('seed', 'pool-AB', 43)).not.toBe(base);
});

it('separates fields so that shifting characters between seed and poolId changes the key ID', () => {
  expect(deriveKeyId('ab', 'c', 1)).not.toBe(deriveKeyId('a', 'bc', 1));
  expect(deriveKeyId('s', 'pool1', 1)).not.toBe(deriveKeyId('s', 'pool', 11));
});

it('derives 10,000 distinct key IDs for 10,000 sequence numbers', () => {
  const keyIds = new Set<string>();
  for (let seq = 0; seq < 10_000; seq += 1) {
    keyIds.add(deriveKeyId('seed', 'pool-AB', seq));
  }
  expect(keyIds.size).toBe(10_000);
});

it('rejects sequence numbers that are negative or not integers', () => {
  expect(() => deriveKeyId('s', 'p', -1)).toThrow(RangeError);
  expect(() => deriveKeyId('s', 'p', 1.5)).toThrow(RangeError);
});

it('accepts canonical UUIDs of any version and in uppercase', () => {
  const examples = [
    'c232ab00-9414-11ec-b3c8-9f6bdeced846',
    '919108f7-52d1-4320-9bac-f847db4148a8',
    '017f22e2-79b0-7cc3-98c4-dc0c0c07398f',
    '919108F7-52D1-4320-9BAC-F847DB4148A8',
    '00000000-0000-0000-0000-000000000000',
  ];
  for (const example of examples) {
    expect(isCanonicalUuid(example)).toBe(true);
  }
});

it('rejects near-misses of the canonical UUID form', () => {
  const nearMisses = [
    '',
    '919108f752d143209bacf847db4148a8',
    '{919108f7-52d1-4320-9bac-f847db4148a8}',
    'urn:uuid:919108f7-52d1-4320-9bac-f847db4148a8',
    ' 919108f7-52d1-4320-9bac-f847db4148a8',
    '919108f7-52d1-4320-9bac-f847db4148a8 ',
    '919108f7-52d1-4320-9bac-f847db4148a8\n',
    '919108f7-52d1-4320-9bac-f847db4148a',
    '919108f7-52d1-4320-9bac-f847db4148a8a',
    '919108g7-52d1-4320-9bac-f847db4148a8',
    '919108f7_52d1_4320_9bac_f847db4148a8',
    '919108f-752d1-4320-9bac-f847db4148a8',
  ];
  for (const nearMiss of nearMisses) {
    expect(isCanonicalUuid(nearMiss)).toBe(false);
  }
});

it('formats sequential key IDs with the sequence padded to six digits', () => {
  expect(formatSequentialKeyId('SAE_BOB', 1)).toBe('qk_SAE_BOB_000001');
  expect(formatSequentialKeyId('SAE_BOB', 0)).toBe('qk_SAE_BOB_000000');
  expect(formatSequentialKeyId('SAE_BOB', 999_999)).toBe('qk_SAE_BOB_999999');
});

it('grows sequential key IDs beyond six digits when the sequence needs it', () => {
  expect(formatSequentialKeyId('SAE_BOB', 1_234_567)).toBe('qk_SAE_BOB_1234567');
});

it('rejects an empty saeId or an invalid sequence number when formatting', () => {
  expect(() => formatSequentialKeyId('', 1)).toThrow(RangeError);
  expect(() => formatSequentialKeyId('SAE_BOB', -1)).toThrow(RangeError);
  expect(() => formatSequentialKeyId('SAE_BOB', 2.5)).toThrow(RangeError);
});

it('recognises formatted sequential key IDs and rejects other strings', () => {
  expect(isSequentialKeyId(formatSequentialKeyId('SAE_BOB', 7))).toBe(true);
  expect(isSequentialKeyId(formatSequentialKeyId('SAE_BOB', 12_345_678))).toBe(true);
  expect(isSequentialKeyId('qk_SAE_BOB_00001')).toBe(false);
  expect(isSequentialKeyId('qk__000001')).toBe(false);
  expect(isSequentialKeyId('QK_SAE_BOB_000001')).toBe(false);
  expect(isSequentialKeyId('qk_SAE_BOB_000001x')).toBe(false);
  expect(isSequentialKeyId(deriveKeyId('s', 'p', 1))).toBe(false);
});

it('derives the same key ID whatever order the IDs are asked for in', () => {
  const inOrder = Array.from({ length: 300 }, (_, seq) => deriveKeyId('order-seed', 'pool-X', seq));
  // Fresh pools and seeds each time, so nothing is served from an earlier batch of the same pool.
  const backwards = Array.from({ length: 300 }, (_, i) => deriveKeyId('order-seed', 'pool-X', 299 - i)).reverse();
  const interleaved = Array.from({ length: 300 }, (_, seq) => {
    deriveKeyId('order-seed', 'pool-Y', (seq * 37) % 1000);
    return deriveKeyId('order-seed', 'pool-X', seq);
  });
  expect(backwards).toEqual(inOrder);
  expect(interleaved).toEqual(inOrder);
});

it('keeps the IDs of different pools and seeds apart', () => {
  const ids = new Set<string>();
  for (const seed of ['s1', 's2']) for (const pool of ['p1', 'p2', 'p3']) for (let seq = 0; seq < 2_000; seq++) ids.add(deriveKeyId(seed, pool, seq));
  expect(ids.size).toBe(2 * 3 * 2_000);
});
