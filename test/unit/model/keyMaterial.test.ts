// Checks that derived key material is a deterministic, input-sensitive PRF and that traces only ever see its hash.
import { expect, it } from 'vitest';
import { deriveKeyBytes, hashKeyBytes, materialOf, materialsOf } from '../../../src/model/keyMaterial.js';

it('returns the same bytes for the same inputs', () => {
  const first = deriveKeyBytes('seed-1', 'link-AB', 'key-1', 256);
  const second = deriveKeyBytes('seed-1', 'link-AB', 'key-1', 256);
  expect(second).toEqual(first);
  expect(second).not.toBe(first);
});

it('keeps the published derivation: replays and reports of earlier versions name the same bytes', () => {
  expect(Buffer.from(deriveKeyBytes('seed-1', 'link-AB', 'key-1', 256)).toString('hex')).toBe('d1792e3daff8c42f764ffd25bb9779112d979243d885b4ec7e195d1c3712d528');
});

it('derives the keys of one step together with the bytes each has alone, whatever their sizes and labels', () => {
  const keys = Array.from({ length: 40 }, (_, i) => ({ keyId: `key-${'k'.repeat(i)}`, materialLabel: i % 2 === 0 ? 'link-AB' : 'línk-€𝄞', sizeBits: 8 * (1 + ((i * 37) % 300)) }));
  const together = materialsOf('seed-batch', keys);
  expect(together).toHaveLength(keys.length);
  keys.forEach((key, i) => expect(together[i]).toEqual(materialOf('seed-batch', key)));
  // Writing into one key's bytes leaves the others alone.
  const copy = Buffer.from(together[1] as Uint8Array);
  (together[0] as Uint8Array).fill(0);
  expect(Buffer.from(together[1] as Uint8Array)).toEqual(copy);
  expect(materialsOf('seed-batch', [])).toEqual([]);
});

it('returns exactly sizeBits / 8 bytes', () => {
  for (const sizeBits of [8, 64, 256, 1024, 8192]) {
    expect(deriveKeyBytes('s', 'l', 'k', sizeBits)).toHaveLength(sizeBits / 8);
  }
});

it('changes the output when any single input changes', () => {
  const base = deriveKeyBytes('seed-1', 'link-AB', 'key-1', 256);
  expect(deriveKeyBytes('seed-2', 'link-AB', 'key-1', 256)).not.toEqual(base);
  expect(deriveKeyBytes('seed-1', 'link-AC', 'key-1', 256)).not.toEqual(base);
  expect(deriveKeyBytes('seed-1', 'link-AB', 'key-2', 256)).not.toEqual(base);
  const longer = deriveKeyBytes('seed-1', 'link-AB', 'key-1', 512);
  expect(longer.subarray(0, 32)).not.toEqual(base);
});

it('separates fields so that shifting characters between linkId and keyId changes the output', () => {
  expect(deriveKeyBytes('s', 'ab', 'c', 128)).not.toEqual(deriveKeyBytes('s', 'a', 'bc', 128));
});

it('stays deterministic after the per-seed key cache has evicted entries', () => {
  const before = deriveKeyBytes('seed-evicted', 'l', 'k', 128);
  for (let i = 0; i < 40; i += 1) {
    deriveKeyBytes(`other-seed-${i}`, 'l', 'k', 128);
  }
  expect(deriveKeyBytes('seed-evicted', 'l', 'k', 128)).toEqual(before);
});

it('produces material that is not all zero bytes', () => {
  expect(deriveKeyBytes('s', 'l', 'k', 1024).some((byte) => byte !== 0)).toBe(true);
});

it('throws a RangeError naming deriveKeyBytes for sizes that are not positive multiples of 8', () => {
  for (const sizeBits of [0, -8, 7, 12, 8.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    expect(() => deriveKeyBytes('s', 'l', 'k', sizeBits)).toThrow(RangeError);
    expect(() => deriveKeyBytes('s', 'l', 'k', sizeBits)).toThrow(/deriveKeyBytes/);
  }
});

it('hashes key bytes to a sha256-prefixed 16-hex-character digest', () => {
  expect(hashKeyBytes(new Uint8Array())).toBe('sha256:e3b0c44298fc1c14');
  expect(hashKeyBytes(new TextEncoder().encode('abc'))).toBe('sha256:ba7816bf8f01cfea');
});

it('never reveals key bytes in their hash', () => {
  const bytes = deriveKeyBytes('s', 'l', 'k', 64);
  const hex = Buffer.from(bytes).toString('hex');
  expect(hashKeyBytes(bytes)).toMatch(/^sha256:[0-9a-f]{16}$/);
  expect(hashKeyBytes(bytes)).not.toContain(hex.slice(0, 8));
});
