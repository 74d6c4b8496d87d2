import { hash } from 'node:crypto';

export interface OtpKey {
  readonly keyId: string;
  readonly bytes: Uint8Array;
}

export interface OtpEnvelope {
  readonly version: 1;
  readonly lengthBytes: number;
  readonly sources: ReadonlyArray<{ readonly keyIds: readonly string[] }>;
  readonly ciphertext: Uint8Array;
}

export type OtpErrorCode = 'insufficient-key' | 'repeated-key' | 'bad-sources' | 'missing-key' | 'key-length-mismatch';

export class OtpError extends Error {
  readonly code: OtpErrorCode;

  constructor(code: OtpErrorCode, message: string) {
    super(message);
    this.name = 'OtpError';
    this.code = code;
  }
}

/** Standard base64 with its padding, and nothing else. */
export const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ENVELOPE_FIELDS = ['version', 'lengthBytes', 'sources', 'ciphertext'];

export function countKeysNeeded(messageBytes: number, keySizeBits: number): number {
  if (!Number.isSafeInteger(messageBytes) || messageBytes < 0) {
    throw new RangeError(`countKeysNeeded: messageBytes must be a non-negative integer, got ${String(messageBytes)}`);
  }
  if (!Number.isSafeInteger(keySizeBits) || keySizeBits <= 0 || keySizeBits % 8 !== 0) {
    throw new RangeError(`countKeysNeeded: keySizeBits must be a positive multiple of 8, got ${String(keySizeBits)}`);
  }
  return Math.ceil(messageBytes / (keySizeBits / 8));
}

function assertSourceCount(count: number): void {
  if (count !== 1 && count !== 2) {
    throw new OtpError('bad-sources', `expected 1 or 2 key sources, got ${count}`);
  }
}

// Rejects reuse across both sources too: equal keystreams in a dual source would XOR to zero.
function assertNoRepeatedKeys(keys: readonly OtpKey[]): void {
  const seenIds = new Set<string>();
  const seenMaterial = new Map<string, string>();
  for (const key of keys) {
    if (seenIds.has(key.keyId)) {
      throw new OtpError('repeated-key', `key ${key.keyId} is used more than once`);
    }
    seenIds.add(key.keyId);
    const digest = hash('sha256', key.bytes, 'base64');
    const earlierId = seenMaterial.get(digest);
    if (earlierId !== undefined) {
      throw new OtpError('repeated-key', `keys ${earlierId} and ${key.keyId} have identical material`);
    }
    seenMaterial.set(digest, key.keyId);
  }
}

function selectKeyPrefix(keys: readonly OtpKey[], lengthBytes: number, sourceIndex: number): OtpKey[] {
  const used: OtpKey[] = [];
  let totalBytes = 0;
  for (const key of keys) {
    if (totalBytes >= lengthBytes) {
      break;
    }
    used.push(key);
    totalBytes += key.bytes.length;
  }
  if (totalBytes < lengthBytes) {
    throw new OtpError(
      'insufficient-key',
      `source ${sourceIndex + 1} has ${totalBytes} key bytes for a ${lengthBytes}-byte message`,
    );
  }
  return used;
}

function xorKeystreamInto(target: Uint8Array, keys: readonly OtpKey[]): void {
  let offset = 0;
  for (const key of keys) {
    const take = Math.min(key.bytes.length, target.length - offset);
    for (let i = 0; i < take; i += 1) {
      target[offset + i] = (target[offset + i] ?? 0) ^ (key.bytes[i] ?? 0);
    }
    offset += take;
  }
}

export function sealOtp(message: Uint8Array, sources: ReadonlyArray<readonly OtpKey[]>): OtpEnvelope {
  assertSourceCount(sources.length);
  const usedPerSource = sources.map((keys, index) => selectKeyPrefix(keys, message.length, index));
  assertNoRepeatedKeys(usedPerSource.flat());
  const ciphertext = new Uint8Array(message);
  for (const used of usedPerSource) {
    xorKeystreamInto(ciphertext, used);
  }
  return {
    version: 1,
    lengthBytes: message.length,
    sources: usedPerSource.map((used) => ({ keyIds: used.map((key) => key.keyId) })),
    ciphertext,
  };
}

function checkMinimalPrefix(keys: readonly OtpKey[], lengthBytes: number, sourceIndex: number): void {
  const totalBytes = keys.reduce((sum, key) => sum + key.bytes.length, 0);
  const lastBytes = keys.at(-1)?.bytes.length ?? 0;
  if (totalBytes < lengthBytes) {
    throw new OtpError(
      'key-length-mismatch',
      `source ${sourceIndex + 1} keys give ${totalBytes} bytes for a ${lengthBytes}-byte message`,
    );
  }
  if (keys.length > 0 && totalBytes - lastBytes >= lengthBytes) {
    throw new OtpError(
      'key-length-mismatch',
      `source ${sourceIndex + 1} records more keys than a ${lengthBytes}-byte message needs`,
    );
  }
}

export function openOtp(
  envelope: OtpEnvelope,
  lookup: ReadonlyArray<(keyId: string) => Uint8Array | undefined>,
): Uint8Array {
  assertSourceCount(envelope.sources.length);
  if (lookup.length !== envelope.sources.length) {
    throw new OtpError(
      'bad-sources',
      `envelope has ${envelope.sources.length} sources but ${lookup.length} lookups were given`,
    );
  }
  if (envelope.ciphertext.length !== envelope.lengthBytes) {
    throw new OtpError(
      'bad-sources',
      `ciphertext has ${envelope.ciphertext.length} bytes but lengthBytes is ${envelope.lengthBytes}`,
    );
  }
  const keysPerSource = envelope.sources.map((source, sourceIndex) =>
    source.keyIds.map((keyId): OtpKey => {
      const bytes = lookup[sourceIndex]?.(keyId);
      if (bytes === undefined) {
        throw new OtpError('missing-key', `source ${sourceIndex + 1} has no key ${keyId}`);
      }
      return { keyId, bytes };
    }),
  );
  keysPerSource.forEach((keys, sourceIndex) => checkMinimalPrefix(keys, envelope.lengthBytes, sourceIndex));
  assertNoRepeatedKeys(keysPerSource.flat());
  const plaintext = new Uint8Array(envelope.ciphertext);
  for (const keys of keysPerSource) {
    xorKeystreamInto(plaintext, keys);
  }
  return plaintext;
}

export function encodeEnvelope(envelope: OtpEnvelope): string {
  const ciphertext = envelope.ciphertext;
  return JSON.stringify({
    version: envelope.version,
    lengthBytes: envelope.lengthBytes,
    sources: envelope.sources.map((source) => ({ keyIds: [...source.keyIds] })),
    ciphertext: Buffer.from(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength).toString('base64'),
  });
}

function rejectMalformed(reason: string): never {
  throw new OtpError('bad-sources', `malformed OTP envelope: ${reason}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeSource(value: unknown, index: number): { readonly keyIds: readonly string[] } {
  if (!isRecord(value) || Object.keys(value).some((field) => field !== 'keyIds')) {
    return rejectMalformed(`source ${index + 1} must be an object with only keyIds`);
  }
  const keyIds = value['keyIds'];
  if (!Array.isArray(keyIds) || !keyIds.every((keyId): keyId is string => typeof keyId === 'string')) {
    return rejectMalformed(`source ${index + 1} keyIds must be an array of strings`);
  }
  return { keyIds: [...keyIds] };
}

export function decodeEnvelope(text: string): OtpEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return rejectMalformed(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isRecord(parsed)) {
    return rejectMalformed('not a JSON object');
  }
  const unknownField = Object.keys(parsed).find((field) => !ENVELOPE_FIELDS.includes(field));
  if (unknownField !== undefined) {
    return rejectMalformed(`unknown field ${unknownField}`);
  }
  if (parsed['version'] !== 1) {
    return rejectMalformed(`unsupported version ${JSON.stringify(parsed['version'])}`);
  }
  const lengthBytes = parsed['lengthBytes'];
  if (typeof lengthBytes !== 'number' || !Number.isSafeInteger(lengthBytes) || lengthBytes < 0) {
    return rejectMalformed('lengthBytes must be a non-negative integer');
  }
  const sources = parsed['sources'];
  if (!Array.isArray(sources)) {
    return rejectMalformed('sources must be an array');
  }
  assertSourceCount(sources.length);
  const encodedCiphertext = parsed['ciphertext'];
  if (typeof encodedCiphertext !== 'string' || !STRICT_BASE64.test(encodedCiphertext)) {
    return rejectMalformed('ciphertext must be padded standard base64');
  }
  const ciphertextBuffer = Buffer.from(encodedCiphertext, 'base64');
  // Node ignores nonzero padding bits; re-encoding exposes them.
  if (ciphertextBuffer.toString('base64') !== encodedCiphertext) {
    return rejectMalformed('ciphertext base64 is not canonical');
  }
  if (ciphertextBuffer.length !== lengthBytes) {
    return rejectMalformed(`ciphertext has ${ciphertextBuffer.length} bytes but lengthBytes is ${lengthBytes}`);
  }
  return {
    version: 1,
    lengthBytes,
    sources: sources.map((source: unknown, index) => decodeSource(source, index)),
    ciphertext: new Uint8Array(ciphertextBuffer),
  };
}
