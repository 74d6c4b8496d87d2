// Checks that one-time-pad envelopes round-trip with one or two key sources and refuse any stretched, repeated or mismatched key.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { deriveKeyBytes } from '../../../src/model/keyMaterial.js';
import {
  countKeysNeeded,
  decodeEnvelope,
  encodeEnvelope,
  openOtp,
  OtpError,
  sealOtp,
  type OtpEnvelope,
  type OtpKey,
} from '../../../src/model/otpEnvelope.js';

const KEY_SIZES_BITS = [8, 64, 256, 1024, 8192] as const;

function expectOtpError(action: () => unknown, code: OtpError['code']): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(OtpError);
  expect((thrown as OtpError).code).toBe(code);
}

// One-byte keys have only 256 possible values, so they are drawn from a permutation to keep material distinct.
function makeKeys(seed: number, sourceIndex: number, count: number, sizeBits: number): OtpKey[] {
  return Array.from({ length: count }, (_, index): OtpKey => {
    const keyId = `s${sourceIndex}-k${index}`;
    if (sizeBits === 8) {
      return { keyId, bytes: Uint8Array.of(((sourceIndex * 128 + index) * 167 + seed) & 0xff) };
    }
    return { keyId, bytes: deriveKeyBytes(`seed-${seed}`, `link-${sourceIndex}`, keyId, sizeBits) };
  });
}

function lookupFor(keys: readonly OtpKey[]): (keyId: string) => Uint8Array | undefined {
  const byId = new Map(keys.map((key) => [key.keyId, key.bytes]));
  return (keyId) => byId.get(keyId);
}

function key(keyId: string, ...bytes: number[]): OtpKey {
  return { keyId, bytes: Uint8Array.from(bytes) };
}

function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

const otpCase = fc
  .record({
    sizeBits: fc.constantFrom(...KEY_SIZES_BITS),
    sourceCount: fc.constantFrom(1, 2),
    seed: fc.nat({ max: 1_000_000 }),
    leftoverKeys: fc.nat({ max: 3 }),
  })
  .chain(({ sizeBits, sourceCount, seed, leftoverKeys }) =>
    fc
      .uint8Array({ minLength: 0, maxLength: sizeBits === 8 ? 256 / sourceCount : 3000 })
      .map((message) => {
        const needed = countKeysNeeded(message.length, sizeBits);
        const extra = sizeBits === 8 ? 0 : leftoverKeys;
        const sources = Array.from({ length: sourceCount }, (_, sourceIndex) =>
          makeKeys(seed, sourceIndex, needed + extra, sizeBits),
        );
        return { sizeBits, message, sources };
      }),
  );

function xorKeystreams(sources: readonly (readonly OtpKey[])[], lengthBytes: number): Uint8Array {
  const keystream = new Uint8Array(lengthBytes);
  for (const keys of sources) {
    const stream = Buffer.concat(keys.map((k) => k.bytes));
    for (let i = 0; i < lengthBytes; i += 1) {
      keystream[i] = (keystream[i] ?? 0) ^ (stream[i] ?? 0);
    }
  }
  return keystream;
}

it('opens every sealed message back to its plaintext with one or two sources', () => {
  fc.assert(
    fc.property(otpCase, ({ message, sources }) => {
      const envelope = sealOtp(message, sources);
      expect(openOtp(envelope, sources.map(lookupFor))).toEqual(message);
    }),
  );
});

it('records exactly countKeysNeeded keys per source, taken in order from the front', () => {
  fc.assert(
    fc.property(otpCase, ({ sizeBits, message, sources }) => {
      const envelope = sealOtp(message, sources);
      const needed = countKeysNeeded(message.length, sizeBits);
      expect(envelope.lengthBytes).toBe(message.length);
      expect(envelope.sources).toHaveLength(sources.length);
      envelope.sources.forEach((source, index) => {
        expect(source.keyIds).toEqual((sources[index] ?? []).slice(0, needed).map((k) => k.keyId));
      });
    }),
  );
});

it('round-trips every envelope through encodeEnvelope and decodeEnvelope', () => {
  fc.assert(
    fc.property(otpCase, ({ message, sources }) => {
      const envelope = sealOtp(message, sources);
      const decoded = decodeEnvelope(encodeEnvelope(envelope));
      expect(decoded).toEqual(envelope);
      expect(openOtp(decoded, sources.map(lookupFor))).toEqual(message);
    }),
  );
});

it('produces a ciphertext that is the plaintext XOR the combined keystream, so it differs whenever the keystream is nonzero', () => {
  fc.assert(
    fc.property(otpCase, ({ message, sources }) => {
      const envelope = sealOtp(message, sources);
      const keystream = xorKeystreams(sources, message.length);
      const observed = envelope.ciphertext.map((byte, i) => byte ^ (message[i] ?? 0));
      expect(observed).toEqual(keystream);
      if (keystream.some((byte) => byte !== 0)) {
        expect(envelope.ciphertext).not.toEqual(message);
      }
    }),
  );
});

it('leaves the message and the key bytes unmodified', () => {
  fc.assert(
    fc.property(otpCase, ({ message, sources }) => {
      const messageBefore = Uint8Array.from(message);
      const keysBefore = sources.map((keys) => keys.map((k) => Uint8Array.from(k.bytes)));
      const envelope = sealOtp(message, sources);
      openOtp(envelope, sources.map(lookupFor));
      expect(message).toEqual(messageBefore);
      expect(sources.map((keys) => keys.map((k) => k.bytes))).toEqual(keysBefore);
    }),
    { numRuns: 30 },
  );
});

it('counts the keys a message needs, rounding up and needing none for an empty message', () => {
  expect(countKeysNeeded(0, 256)).toBe(0);
  expect(countKeysNeeded(1, 256)).toBe(1);
  expect(countKeysNeeded(32, 256)).toBe(1);
  expect(countKeysNeeded(33, 256)).toBe(2);
  expect(countKeysNeeded(3000, 8)).toBe(3000);
  expect(countKeysNeeded(3000, 8192)).toBe(3);
});

it('rejects invalid sizes when counting keys', () => {
  expect(() => countKeysNeeded(10, 0)).toThrow(RangeError);
  expect(() => countKeysNeeded(10, 12)).toThrow(RangeError);
  expect(() => countKeysNeeded(-1, 256)).toThrow(RangeError);
});

it('seals the empty message with zero keys per source and opens it again', () => {
  const sources = [[key('a', 1)], [key('b', 2)]];
  const envelope = sealOtp(new Uint8Array(), sources);
  expect(envelope.ciphertext).toHaveLength(0);
  expect(envelope.sources).toEqual([{ keyIds: [] }, { keyIds: [] }]);
  expect(openOtp(decodeEnvelope(encodeEnvelope(envelope)), [() => undefined, () => undefined])).toEqual(
    new Uint8Array(),
  );
});

it('refuses zero or more than two sources', () => {
  expectOtpError(() => sealOtp(bytesOf('hi'), []), 'bad-sources');
  expectOtpError(() => sealOtp(bytesOf('hi'), [[key('a', 1, 2)], [key('b', 3, 4)], [key('c', 5, 6)]]), 'bad-sources');
});

it('refuses to seal when a source has fewer key bytes than the message', () => {
  expectOtpError(() => sealOtp(bytesOf('hello'), [[key('a', 1, 2), key('b', 3, 4)]]), 'insufficient-key');
  expectOtpError(() => sealOtp(bytesOf('hi'), [[key('a', 1, 2)], [key('b', 3)]]), 'insufficient-key');
  expectOtpError(() => sealOtp(bytesOf('x'), [[]]), 'insufficient-key');
});

it('refuses a key ID repeated within one source', () => {
  expectOtpError(() => sealOtp(bytesOf('abcd'), [[key('a', 1, 2), key('a', 3, 4)]]), 'repeated-key');
});

it('refuses a key ID repeated across the two sources', () => {
  expectOtpError(() => sealOtp(bytesOf('ab'), [[key('a', 1, 2)], [key('a', 3, 4)]]), 'repeated-key');
});

it('refuses identical key material under two key IDs within one source', () => {
  expectOtpError(() => sealOtp(bytesOf('abcd'), [[key('a', 9, 9), key('b', 9, 9)]]), 'repeated-key');
});

it('refuses identical key material under two key IDs across the two sources', () => {
  expectOtpError(() => sealOtp(bytesOf('ab'), [[key('a', 7, 8)], [key('b', 7, 8)]]), 'repeated-key');
});

it('ignores and does not record leftover keys, even repeated ones', () => {
  const envelope = sealOtp(bytesOf('ab'), [[key('a', 1, 2), key('b', 1, 2), key('b', 1, 2)]]);
  expect(envelope.sources).toEqual([{ keyIds: ['a'] }]);
});

it('refuses to open when a lookup returns a key shorter than the one used to seal', () => {
  const keys = [key('a', 1, 2, 3, 4), key('b', 5, 6, 7, 8)];
  const envelope = sealOtp(bytesOf('abcdef'), [keys]);
  const truncating = (keyId: string): Uint8Array | undefined =>
    keyId === 'b' ? Uint8Array.of(5) : lookupFor(keys)(keyId);
  expectOtpError(() => openOtp(envelope, [truncating]), 'key-length-mismatch');
});

it('refuses to open an envelope that records more keys than the message needs', () => {
  const keys = [key('a', 1, 2, 3, 4), key('b', 5, 6, 7, 8)];
  const envelope = sealOtp(bytesOf('abc'), [keys]);
  const padded: OtpEnvelope = { ...envelope, sources: [{ keyIds: ['a', 'b'] }] };
  expectOtpError(() => openOtp(padded, [lookupFor(keys)]), 'key-length-mismatch');
});

it('refuses to open when a recorded key is missing from its source', () => {
  const first = [key('a', 1, 2, 3)];
  const second = [key('b', 4, 5, 6)];
  const envelope = sealOtp(bytesOf('abc'), [first, second]);
  expectOtpError(() => openOtp(envelope, [lookupFor(first), lookupFor(first)]), 'missing-key');
  expectOtpError(() => openOtp(envelope, [lookupFor(second), lookupFor(second)]), 'missing-key');
});

it('refuses to open an envelope that records one key ID twice', () => {
  const keys = [key('a', 1, 2)];
  const envelope = sealOtp(bytesOf('ab'), [keys, [key('b', 3, 4)]]);
  const reused: OtpEnvelope = { ...envelope, sources: [{ keyIds: ['a'] }, { keyIds: ['a'] }] };
  expectOtpError(() => openOtp(reused, [lookupFor(keys), lookupFor(keys)]), 'repeated-key');
});

it('refuses to open with a number of lookups different from the number of sources', () => {
  const keys = [key('a', 1, 2)];
  const envelope = sealOtp(bytesOf('ab'), [keys]);
  expectOtpError(() => openOtp(envelope, [lookupFor(keys), lookupFor(keys)]), 'bad-sources');
});

it('encodes the ciphertext as padded standard base64 inside JSON', () => {
  const envelope = sealOtp(Uint8Array.of(0xfb), [[key('a', 0)]]);
  const parsed = JSON.parse(encodeEnvelope(envelope)) as Record<string, unknown>;
  expect(parsed).toEqual({ version: 1, lengthBytes: 1, sources: [{ keyIds: ['a'] }], ciphertext: '+w==' });
});

it('refuses malformed encoded envelopes with a bad-sources OtpError', () => {
  const valid = { version: 1, lengthBytes: 1, sources: [{ keyIds: ['a'] }], ciphertext: '+w==' };
  expect(decodeEnvelope(JSON.stringify(valid)).ciphertext).toEqual(Uint8Array.of(0xfb));
  const malformed = [
    'not json',
    '[]',
    JSON.stringify({ ...valid, version: 2 }),
    JSON.stringify({ ...valid, lengthBytes: -1 }),
    JSON.stringify({ ...valid, lengthBytes: 2 }),
    JSON.stringify({ ...valid, sources: [] }),
    JSON.stringify({ ...valid, sources: [{ keyIds: ['a'] }, { keyIds: ['b'] }, { keyIds: ['c'] }] }),
    JSON.stringify({ ...valid, sources: [{ keyIds: [1] }] }),
    JSON.stringify({ ...valid, ciphertext: '-w==' }),
    JSON.stringify({ ...valid, ciphertext: '+w' }),
    JSON.stringify({ ...valid, ciphertext: '+x==' }),
    JSON.stringify({ ...valid, extra: true }),
  ];
  for (const text of malformed) {
    expectOtpError(() => decodeEnvelope(text), 'bad-sources');
  }
});
