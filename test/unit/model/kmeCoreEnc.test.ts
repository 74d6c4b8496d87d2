// Checks Status and Get key (enc_keys) of the pure KME core against ETSI014.md items C9 to C31 on the strict profile, by running commands on small one- and two-KME worlds and reading replies and pools.
import { expect, it } from 'vitest';
import { isCanonicalUuid } from '../../../src/model/keyIds.js';
import type { KmeCommand } from '../../../src/model/kmeCore.js';
import { MIN_TTL_EXTENSION, perUserPoolProfile, resolveProfile, strictProfile } from '../../../src/model/profiles.js';
import { SPEC_ERROR, statusSchema } from '../../../src/model/wireSchema.js';
import { cloneWorld } from '../../../src/model/world.js';
import {
  bytesOf,
  enc,
  errorOf,
  idsOf,
  KME_A,
  KME_B,
  keysOf,
  makeWorld,
  poolOf,
  run,
  statusOf,
  storedIn,
  expectRefusedChangingNothingButDemand,
} from './coreWorld.js';

const STRING_ITEMS = ['source_KME_ID', 'target_KME_ID', 'master_SAE_ID', 'slave_SAE_ID'];
const INTEGER_ITEMS = [
  'key_size',
  'stored_key_count',
  'max_key_count',
  'max_key_per_request',
  'max_key_size',
  'min_key_size',
  'max_SAE_ID_count',
];
const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

it('C9 status answers with all eleven mandatory items and the right JSON types', () => {
  const status = statusOf(makeWorld(), 'alice', 'bob');
  expect(Object.keys(status).sort()).toEqual([...STRING_ITEMS, ...INTEGER_ITEMS].sort());
  const items = status as unknown as Record<string, unknown>;
  for (const name of STRING_ITEMS) expect(typeof items[name], name).toBe('string');
  for (const name of INTEGER_ITEMS) expect(Number.isInteger(items[name]), name).toBe(true);
  expect(statusSchema.safeParse(status).success).toBe(true);
});

it('C10 status names the caller as master and the path SAE as slave', () => {
  const world = makeWorld();
  expect(statusOf(world, 'alice', 'bob')).toMatchObject({ master_SAE_ID: 'alice', slave_SAE_ID: 'bob' });
  expect(statusOf(world, 'bob', 'alice')).toMatchObject({ master_SAE_ID: 'bob', slave_SAE_ID: 'alice' });
});

it('C11 status names the called KME as source and the slave KME as target', () => {
  const world = makeWorld({ kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B } });
  expect(statusOf(world, 'alice', 'bob')).toMatchObject({ source_KME_ID: KME_A, target_KME_ID: KME_B });
  expect(statusOf(world, 'bob', 'alice')).toMatchObject({ source_KME_ID: KME_B, target_KME_ID: KME_A });
  const single = makeWorld();
  expect(statusOf(single, 'alice', 'bob')).toMatchObject({ source_KME_ID: KME_A, target_KME_ID: KME_A });
});

it('C12 status keeps min_key_size <= key_size <= max_key_size and stored_key_count <= max_key_count', () => {
  for (const profile of [strictProfile, perUserPoolProfile]) {
    const world = makeWorld({ profile, capacity: 40 });
    const full = statusOf(world, 'alice', 'bob');
    expect(full.min_key_size).toBeLessThanOrEqual(full.key_size);
    expect(full.key_size).toBeLessThanOrEqual(full.max_key_size);
    expect(full).toMatchObject({ stored_key_count: 40, max_key_count: 40, key_size: profile.keySizeBits });
    keysOf(enc(world, 'alice', 'bob', { number: 15 }));
    const drained = statusOf(world, 'alice', 'bob');
    expect(drained.stored_key_count).toBe(25);
    expect(drained.stored_key_count).toBeLessThanOrEqual(drained.max_key_count);
  }
});

it('C14 stored_key_count falls by n after n keys are delivered and equals what enc_keys can deliver', () => {
  const world = makeWorld({ capacity: 50 });
  expect(statusOf(world, 'alice', 'bob').stored_key_count).toBe(50);
  keysOf(enc(world, 'alice', 'bob', { number: 3 }));
  expect(statusOf(world, 'alice', 'bob').stored_key_count).toBe(47);
  keysOf(enc(world, 'alice', 'bob', { number: 40 }));
  const stored = statusOf(world, 'alice', 'bob').stored_key_count;
  expect(stored).toBe(7);
  expect(errorOf(world, enc(cloneWorld(world), 'alice', 'bob', { number: stored + 1 })).status).toBe(503);
  expect(keysOf(enc(cloneWorld(world), 'alice', 'bob', { number: stored }))).toHaveLength(stored);
});

it('C15 an unknown slave SAE gets 400 from status and from enc_keys', () => {
  const world = makeWorld();
  const fromStatus = run(world, { type: 'keys.status', kmeId: KME_A, callerSaeId: 'alice', slaveSaeId: 'mallory' });
  expect(errorOf(world, fromStatus).status).toBe(400);
  expect(errorOf(world, enc(world, 'alice', 'mallory')).status).toBe(400);
});

it('C16 an empty request returns exactly one key of key_size bits', () => {
  const world = makeWorld();
  const keys = keysOf(enc(world, 'alice', 'bob', {}));
  expect(keys).toHaveLength(1);
  const [key] = keys;
  expect(key?.sizeBits).toBe(strictProfile.keySizeBits);
  if (key !== undefined) expect(bytesOf(world, key)).toHaveLength(strictProfile.keySizeBits / 8);
});

it('C17 number=n returns exactly n distinct keys for n up to max_key_per_request', () => {
  const world = makeWorld();
  for (const n of [1, 2, 17, strictProfile.maxKeysPerRequest]) {
    const ids = idsOf(enc(world, 'alice', 'bob', { number: n }));
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);
  }
});

it('C18 every key is padded standard base64 of exactly size/8 bytes', () => {
  const world = makeWorld();
  for (const size of [8, 16, 24, 256, 1000, 8192]) {
    for (const key of keysOf(enc(world, 'alice', 'bob', { number: 2, size }))) {
      expect(key.sizeBits).toBe(size);
      const base64 = Buffer.from(bytesOf(world, key)).toString('base64');
      expect(base64).toMatch(PADDED_BASE64);
      expect(Buffer.from(base64, 'base64')).toHaveLength(size / 8);
    }
  }
});

it('C19 every key_ID is a canonical UUID, unique across pools, KMEs and a re-registered SAE', () => {
  const world = makeWorld({ kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B, carol: KME_A }, capacity: 30 });
  const issued: string[] = [];
  const issue = (): void => {
    for (const [master, slave] of [['alice', 'bob'], ['bob', 'alice'], ['alice', 'carol'], ['carol', 'bob']] as const) {
      issued.push(...idsOf(enc(world, master, slave, { number: 5 })));
    }
  };
  issue();
  run(world, { type: 'sae.delete', saeId: 'bob' });
  run(world, { type: 'sae.register', saeId: 'bob', kmeId: KME_B, capacity: 30 });
  issue();
  expect(issued).toHaveLength(40);
  for (const id of issued) {
    expect(id).toMatch(CANONICAL_UUID);
    expect(isCanonicalUuid(id)).toBe(true);
  }
  expect(new Set(issued).size).toBe(issued.length);
});

it('C20 the same number and size give the same keys and the same world, however the request arrived', () => {
  const world = makeWorld();
  const twin = cloneWorld(world);
  // GET ?number=2&size=512 and POST {"number":2,"size":512} both reach the core as this one request.
  const viaGet = enc(world, 'alice', 'bob', { number: 2, size: 512 }, 10);
  const viaPost = enc(twin, 'alice', 'bob', { size: 512, number: 2 }, 10);
  expect(viaPost).toEqual(viaGet);
  expect(twin).toEqual(world);
  expect(keysOf(viaGet).map((key) => key.sizeBits)).toEqual([512, 512]);
});

it('C21 a size that is not a multiple of 8 gets 400 with the spec string, never a resized key', () => {
  const world = makeWorld();
  for (const size of [1, 100, 255, 257]) {
    const error = errorOf(world, enc(world, 'alice', 'bob', { size }));
    expect(error).toMatchObject({ status: 400, body: { message: SPEC_ERROR.sizeNotMultipleOf8 } });
  }
  expect(storedIn(poolOf(world, 'bob'))).toBe(strictProfile.poolCapacity);
});

it('C22 a size outside [min_key_size, max_key_size] gets 400 and the bounds themselves are served', () => {
  const world = makeWorld();
  for (const size of [0, -8, strictProfile.maxKeySizeBits + 8, 65536]) {
    expect(errorOf(world, enc(world, 'alice', 'bob', { size })).status, `size ${size}`).toBe(400);
  }
  expect(keysOf(enc(world, 'alice', 'bob', { size: strictProfile.minKeySizeBits }))).toHaveLength(1);
  expect(keysOf(enc(world, 'alice', 'bob', { size: strictProfile.maxKeySizeBits }))).toHaveLength(1);
});

it('C23 number <= 0, above max_key_per_request or not an integer gets 400', () => {
  const world = makeWorld();
  for (const number of [0, -1, strictProfile.maxKeysPerRequest + 1, 1.5, Number.NaN]) {
    expect(errorOf(world, enc(world, 'alice', 'bob', { number })).status, `number ${number}`).toBe(400);
  }
  expect(storedIn(poolOf(world, 'bob'))).toBe(strictProfile.poolCapacity);
});

it('C25 an unsupported extension_mandatory gets 400 with spec string 2 naming the parameter', () => {
  const world = makeWorld();
  const error = errorOf(world, enc(world, 'alice', 'bob', { extension_mandatory: [{ vendor_route: 'fast' }] }));
  expect(error.status).toBe(400);
  expect(error.body.message).toBe(SPEC_ERROR.extensionMandatoryUnsupported);
  expect(JSON.stringify(error.body.details)).toContain('vendor_route');
});

it('C26 a supported but unmeetable extension_mandatory gets 400 with spec string 3, a meetable one is served', () => {
  const world = makeWorld();
  for (const value of [strictProfile.keyTtlMs + 1, -1, 'soon']) {
    const error = errorOf(world, enc(world, 'alice', 'bob', { extension_mandatory: [{ [MIN_TTL_EXTENSION]: value }] }));
    expect(error).toMatchObject({ status: 400, body: { message: SPEC_ERROR.extensionMandatoryUnmet } });
  }
  expect(keysOf(enc(world, 'alice', 'bob', { extension_mandatory: [{ [MIN_TTL_EXTENSION]: 60_000 }] }))).toHaveLength(1);
});

it('C27 an unknown extension_optional is served with 200', () => {
  const world = makeWorld();
  expect(keysOf(enc(world, 'alice', 'bob', { number: 2, extension_optional: [{ vendor_hint: true }] }))).toHaveLength(2);
});

it('C28 additional slaves beyond max_SAE_ID_count, duplicated, or naming master or slave get 400', () => {
  const strict = makeWorld({ saes: { alice: KME_A, bob: KME_A, carol: KME_A } });
  expect(errorOf(strict, enc(strict, 'alice', 'bob', { additional_slave_SAE_IDs: ['carol'] })).status).toBe(400);
  const profile = resolveProfile('strict', { maxSaeIdCount: 2 });
  const world = makeWorld({ profile, saes: { alice: KME_A, bob: KME_A, carol: KME_A, dave: KME_A, erin: KME_A } });
  for (const additional of [['carol', 'dave', 'erin'], ['carol', 'carol'], ['carol', 'alice'], ['bob'], ['mallory']]) {
    const error = errorOf(world, enc(world, 'alice', 'bob', { additional_slave_SAE_IDs: additional }));
    expect(error.status, additional.join(',')).toBe(400);
  }
  expect(storedIn(poolOf(world, 'bob'))).toBe(profile.poolCapacity);
  expect(keysOf(enc(world, 'alice', 'bob', { additional_slave_SAE_IDs: ['carol', 'dave'] }))).toHaveLength(1);
  // A key lives on one link, so every additional slave must sit on the slave's KME (decision 0004).
  const spread = makeWorld({ profile, kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_A, carol: KME_B } });
  expect(errorOf(spread, enc(spread, 'alice', 'bob', { additional_slave_SAE_IDs: ['carol'] })).status).toBe(400);
});

it('C30 a delivered key is never delivered by enc_keys again, not even after the pool refills', () => {
  const world = makeWorld({ capacity: 20 });
  const issued: string[] = [];
  let attempt = 0;
  for (let round = 0; round < 4; round++) {
    const outcome = enc(world, 'alice', 'bob', { number: 5 });
    issued.push(...idsOf(outcome));
    for (const effect of outcome.effects) if (effect.type === 'sync.requested') attempt = effect.attempt;
  }
  expect(errorOf(world, enc(world, 'alice', 'bob')).status).toBe(503);
  expect(attempt).toBeGreaterThan(0);
  run(world, { type: 'sync.complete', poolId: poolOf(world, 'bob').id, attempt, keyCount: 20 });
  for (let round = 0; round < 4; round++) issued.push(...idsOf(enc(world, 'alice', 'bob', { number: 5 })));
  expect(issued).toHaveLength(40);
  expect(new Set(issued).size).toBe(40);
});

it('C31 not enough keys gets 503 with an Error body and delivers nothing', () => {
  const world = makeWorld({ capacity: 10 });
  keysOf(enc(world, 'alice', 'bob', { number: 6 }));
  const pool = poolOf(world, 'bob');
  const before = { stored: storedIn(pool), reserved: pool.reserved, head: pool.headSeq };
  const error = errorOf(world, enc(world, 'alice', 'bob', { number: 5 }));
  expect(error.status).toBe(503);
  expect(typeof error.body.message).toBe('string');
  expect({ stored: storedIn(pool), reserved: pool.reserved, head: pool.headSeq }).toEqual(before);
  expect(world.reserved.size).toBe(6);
});

it('C31 a refused enc_keys delivers and changes nothing but asking the remote for keys, in a two-KME world too', () => {
  const world = makeWorld({ kmeIds: [KME_A, KME_B], saes: { alice: KME_A, bob: KME_B }, capacity: 4 });
  keysOf(enc(world, 'alice', 'bob', { number: 3 }));
  const command: KmeCommand = { type: 'keys.enc', kmeId: KME_A, callerSaeId: 'alice', slaveSaeId: 'bob', request: { number: 2 } };
  const refused = expectRefusedChangingNothingButDemand(world, command, 1_000);
  expect(errorOf(world, refused).status).toBe(503);
  // One key left of four is above the low threshold: only the refused demand asks for the three missing.
  expect(refused.effects).toEqual([expect.objectContaining({ type: 'sync.requested', reason: 'demand', keyCount: 3 })]);
  // A second refusal while that sync is in flight asks for nothing more.
  expect(expectRefusedChangingNothingButDemand(world, command, 1_001).effects).toEqual([]);
});
