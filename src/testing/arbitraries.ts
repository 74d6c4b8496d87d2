// fast-check arbitraries for a key consumer's properties: messages whose lengths sit on and around key
// boundaries (one byte short of k keys, exactly k, one byte over), where order and offset bugs show, and
// valid enc_keys requests within a KME's limits.
import fc from 'fast-check';

export interface MessageOptions {
  /** Bytes per key (key size / 8). */
  readonly keyBytes: number;
  /** The most keys one message may need (default 4). */
  readonly maxKeys?: number;
}

/** Message bytes: half on a key boundary (k·keyBytes − 1, k·keyBytes, k·keyBytes + 1), half anywhere up to maxKeys keys. */
export function messageArb(options: MessageOptions): fc.Arbitrary<Uint8Array> {
  const { keyBytes } = options;
  const maxKeys = options.maxKeys ?? 4;
  if (!Number.isSafeInteger(keyBytes) || keyBytes < 1) throw new RangeError(`messageArb: keyBytes must be a positive integer, got ${String(keyBytes)}`);
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError(`messageArb: maxKeys must be a positive integer, got ${String(maxKeys)}`);
  const onBoundary = fc
    .tuple(fc.integer({ min: 1, max: maxKeys }), fc.constantFrom(-1, 0, 1))
    .map(([keys, offset]) => Math.min(maxKeys * keyBytes, Math.max(1, keys * keyBytes + offset)));
  const anywhere = fc.integer({ min: 1, max: maxKeys * keyBytes });
  return fc.oneof(onBoundary, anywhere).chain((length) => fc.uint8Array({ minLength: length, maxLength: length }));
}

export interface KeyRequestOptions {
  readonly maxKeysPerRequest: number;
  /** Key sizes a request may name (bits, multiples of 8); absent: requests leave the size to the KME. */
  readonly sizes?: readonly number[];
}

/** A valid enc_keys body: a number of keys within the KME's limit, and maybe a size. */
export function keyRequestArb(options: KeyRequestOptions): fc.Arbitrary<{ number?: number; size?: number }> {
  if (!Number.isSafeInteger(options.maxKeysPerRequest) || options.maxKeysPerRequest < 1) throw new RangeError(`keyRequestArb: maxKeysPerRequest must be a positive integer, got ${String(options.maxKeysPerRequest)}`);
  const odd = (options.sizes ?? []).find((size) => !Number.isSafeInteger(size) || size < 8 || size % 8 !== 0);
  if (odd !== undefined) throw new RangeError(`keyRequestArb: sizes must be positive multiples of 8 bits, got ${String(odd)}`);
  const number = fc.option(fc.integer({ min: 1, max: options.maxKeysPerRequest }), { nil: undefined });
  const size = options.sizes === undefined || options.sizes.length === 0 ? fc.constant(undefined) : fc.option(fc.constantFrom(...options.sizes), { nil: undefined });
  return fc.record({ number, size }).map((request) => ({ ...(request.number === undefined ? {} : { number: request.number }), ...(request.size === undefined ? {} : { size: request.size }) }));
}
