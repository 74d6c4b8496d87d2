// Get key (enc_keys): what a request delivers (C16–C20), how a bad size, number, body, extension or list of
// additional slaves is refused without delivering anything (C20–C28), multicast (C29), no key delivered
// twice (C30), and 503 when there are not enough keys or the KME is restarting (C31, C32).
import { expect } from 'vitest';
import { bytesOf, dec, deliver, drainTo, enc, encGet, expectError, keysOf, LOCAL, MAIN, MIN_TTL_EXTENSION, SPEC, statusOf, statusPath, stored, type Contract, type Key, type Pair } from './contractKit.js';
import { RawBody } from './kmeClient.js';

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encKeysContract(contract: Contract): void {
  contract('C16 {}, no body and GET without query each deliver exactly one key of key_size bits', async (open) => {
    const w = await open();
    const { key_size: keySize } = await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    const answers = [await enc(w, {}), await enc(w), await encGet(w, ''), await enc(w, new RawBody('{}', 'application/json; charset=utf-8'))];
    const keys = answers.map((answer) => keysOf(answer, 1)[0] as Key);
    for (const key of keys) expect(bytesOf(key).length * 8).toBe(keySize);
    expect(new Set(keys.map((key) => key.key_ID)).size).toBe(4);
  });

  contract('C17 number=n delivers exactly n keys, up to max_key_per_request', async (open) => {
    const w = await open();
    const max = (await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1')).max_key_per_request;
    for (const number of [1, 2, 7, max]) keysOf(await enc(w, { number }), number);
    for (const number of [1, 3]) keysOf(await encGet(w, `?number=${number}`), number);
  });

  contract('C18 every key is padded standard base64 of exactly size/8 bytes', async (open) => {
    const w = await open();
    const { max_key_size: max, min_key_size: min } = await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    // 8, 16 and 24 bits need two, one and no padding characters.
    for (const size of [...new Set([min, 8, 16, 24, 40, 256, 1000, max])]) {
      const keys = await deliver(w, { number: 2, size });
      for (const key of keys) {
        const bytes = bytesOf(key);
        expect(bytes.length).toBe(size / 8);
        expect(bytes.toString('base64')).toBe(key.key);
      }
      expect(keysOf(await dec(w, keys.map((key) => key.key_ID)), 2)).toEqual(keys);
    }
  });

  contract('C19 every key_ID is a canonical UUID, unique across pairs, KMEs and a KME restart', async (open) => {
    const w = await open();
    const ids: string[] = [];
    const collect = async (pair: Pair): Promise<void> => {
      ids.push(...(await deliver(w, { number: 50 }, pair)).map((key) => key.key_ID));
    };
    for (const pair of [MAIN, LOCAL, { masterKme: 'KME_B', master: 'SAE_B1', slave: 'SAE_A1', slaveKme: 'KME_A' }, { masterKme: 'KME_B', master: 'SAE_B2', slave: 'SAE_B1', slaveKme: 'KME_B' }, { ...MAIN, master: 'SAE_A2' }] as const) {
      await collect(pair);
    }
    await w.client.admin.fault({ restart: { kme: 'KME_A' } });
    await collect(MAIN);
    await collect(LOCAL);
    for (const id of ids) expect(id).toMatch(CANONICAL_UUID);
    expect(new Set(ids).size).toBe(ids.length);
  });

  contract('C20 GET with number and size delivers exactly what the matching POST delivers', async (open) => {
    const viaPost = await open();
    const viaGet = await open();
    for (const [number, size] of [[3, 512], [1, 8], [5, 256]] as const) {
      const posted = keysOf(await enc(viaPost, { number, size }), number);
      const got = keysOf(await encGet(viaGet, `?number=${number}&size=${size}`), number);
      // Twin worlds with one seed and one history: the same request must take the same keys.
      expect(got).toEqual(posted);
      for (const key of got) expect(bytesOf(key).length).toBe(size / 8);
    }
    expect(await stored(viaGet)).toBe(await stored(viaPost));
  });

  contract('C20 GET and POST refuse the same bad number or size alike', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const [query, body] of [['?size=12', { size: 12 }], ['?number=0', { number: 0 }], ['?size=99992', { size: 99992 }], ['?number=1000', { number: 1000 }]] as const) {
      const viaGet = await encGet(w, query);
      const viaPost = await enc(w, body);
      expect(viaGet.status).toBe(400);
      expect([viaGet.status, viaGet.body]).toEqual([viaPost.status, viaPost.body]);
    }
    expect(await stored(w)).toBe(before);
  });

  contract('C21 a size that is not a multiple of 8 gets 400 "size shall be a multiple of 8" and delivers nothing', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const size of [1, 7, 12, 257, 1001]) expectError(await enc(w, { size }), 400, SPEC.sizeNotMultipleOf8);
    expectError(await encGet(w, '?size=12&number=2'), 400, SPEC.sizeNotMultipleOf8);
    expect(await stored(w)).toBe(before);
  });

  contract('C22 a size outside [min_key_size, max_key_size] gets 400 while both bounds are served', async (open) => {
    const w = await open();
    const { min_key_size: min, max_key_size: max } = await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    const before = await stored(w);
    for (const size of [min - 8, -8, max + 8, max * 8]) {
      const error = expectError(await enc(w, { size }), 400);
      // These sizes are multiples of 8: the refusal is for the range, not spec string 1.
      expect(error.message).not.toBe(SPEC.sizeNotMultipleOf8);
    }
    expect(await stored(w)).toBe(before);
    expect(bytesOf((await deliver(w, { size: min }))[0] as Key).length).toBe(min / 8);
    expect(bytesOf((await deliver(w, { size: max }))[0] as Key).length).toBe(max / 8);
  });

  contract('C23 a number that is not an integer from 1 to max_key_per_request gets 400', async (open) => {
    const w = await open();
    const max = (await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1')).max_key_per_request;
    const before = await stored(w);
    for (const number of [0, -1, max + 1, 1.5, '2', null, true]) expectError(await enc(w, { number }), 400);
    for (const query of ['?number=0', '?number=-3', `?number=${max + 1}`, '?number=1.5', '?number=abc', '?number=', '?number=1e2']) {
      expectError(await encGet(w, query), 400);
    }
    expect(await stored(w)).toBe(before);
  });

  contract('C24 malformed JSON or a body that is not a JSON object gets 400 with an Error body', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const raw of ['{"number": 1', '{number: 1}', "{'number': 1}", '[]', '[{"number": 1}]', '"keys"', '42', 'null', 'true']) {
      expectError(await enc(w, new RawBody(raw, 'application/json')), 400);
    }
    expect(await stored(w)).toBe(before);
  });

  contract('C25 an unsupported extension_mandatory gets 400 with spec string 2 naming the parameter', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const extensions of [[{ vendor_route: 'fast' }], [{ [MIN_TTL_EXTENSION]: 60_000 }, { vendor_route: 'fast' }]]) {
      const error = expectError(await enc(w, { extension_mandatory: extensions }), 400, SPEC.extensionUnsupported);
      expect(error.details?.some((detail) => Object.hasOwn(detail, 'vendor_route'))).toBe(true);
    }
    expect(await stored(w)).toBe(before);
  });

  contract('C26 a supported but unmeetable extension_mandatory gets 400 with spec string 3', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const value of [Number.MAX_SAFE_INTEGER, -1, 'soon', 1.5]) {
      expectError(await enc(w, { extension_mandatory: [{ [MIN_TTL_EXTENSION]: value }] }), 400, SPEC.extensionUnmet);
    }
    expect(await stored(w)).toBe(before);
    await deliver(w, { number: 2, extension_mandatory: [{ [MIN_TTL_EXTENSION]: 60_000 }] });
  });

  contract('C27 an unknown extension_optional is ignored and the keys are delivered (200)', async (open) => {
    const w = await open();
    await deliver(w, { extension_optional: [{ vendor_hint: 'x' }] });
    await deliver(w, { number: 2, size: 64, extension_optional: [{ vendor_hint: { nested: [1, 2] } }, { other: null }] });
  });

  contract('C28 additional_slave_SAE_IDs beyond max_SAE_ID_count, duplicated, or naming the master or slave get 400', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const before = await stored(w);
    for (const additional of [['SAE_B2', 'SAE_A2', 'SAE_NOBODY'], ['SAE_B2', 'SAE_B2'], ['SAE_A1'], ['SAE_B1'], ['SAE_B2', 'SAE_B1']]) {
      expectError(await enc(w, { additional_slave_SAE_IDs: additional }), 400);
    }
    expect(await stored(w)).toBe(before);
    await deliver(w, { additional_slave_SAE_IDs: ['SAE_B2'] });
  });

  contract('C28 additional slaves are refused when max_SAE_ID_count is 0', async (open) => {
    const w = await open();
    expect((await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1')).max_SAE_ID_count).toBe(0);
    const before = await stored(w);
    expectError(await enc(w, { additional_slave_SAE_IDs: ['SAE_B2'] }), 400);
    expect(await stored(w)).toBe(before);
    await deliver(w, { additional_slave_SAE_IDs: [] });
  });

  contract('C28 additional slaves unknown or attached to another KME than the slave get 400 (choice)', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const before = await stored(w);
    for (const additional of [['SAE_NOBODY'], ['SAE_A2']]) expectError(await enc(w, { additional_slave_SAE_IDs: additional }), 400);
    expect(await stored(w)).toBe(before);
  });

  contract('C29 every additional slave retrieves the identical key bytes through dec_keys naming the master', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const keys = await deliver(w, { number: 3, size: 128, additional_slave_SAE_IDs: ['SAE_B2'] });
    const ids = keys.map((key) => key.key_ID);
    expect(keysOf(await dec(w, ids), 3)).toEqual(keys);
    expect(keysOf(await dec(w, ids, MAIN, 'SAE_B2'), 3)).toEqual(keys);
  });

  contract('C30 a delivered key is never delivered by enc_keys again', async (open) => {
    const w = await open();
    const keys = [
      ...(await deliver(w, { number: 100 })),
      ...keysOf(await encGet(w, '?number=60'), 60),
      ...(await deliver(w, { number: 100 }, { ...MAIN, master: 'SAE_A2' })),
      ...(await deliver(w, { number: 100 })),
    ];
    expect(new Set(keys.map((key) => key.key_ID)).size).toBe(keys.length);
    expect(new Set(keys.map((key) => key.key)).size).toBe(keys.length);
  });

  contract('C30 concurrent requests on one pool never deliver the same key twice', async (open) => {
    const w = await open();
    const before = await stored(w);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 3 === 2 ? encGet(w, '?number=5') : enc(w, { number: 5 }, i % 3 === 1 ? { ...MAIN, master: 'SAE_A2' } : MAIN))),
    );
    const keys = answers.flatMap((answer) => keysOf(answer, 5));
    expect(new Set(keys.map((key) => key.key_ID)).size).toBe(60);
    expect(await stored(w)).toBe(before - 60);
  });

  contract('C31 a request for more keys than are stored gets 503 and delivers nothing', async (open) => {
    const w = await open();
    const twin = await open();
    await drainTo(w, 5);
    await drainTo(twin, 5);
    const refused = expectError(await enc(w, { number: 6 }), 503);
    expect(refused.message.length).toBeGreaterThan(0);
    expect(await stored(w)).toBe(5);
    // The twin never saw the refused request: the same next keys prove that nothing was taken.
    expect(await deliver(w, { number: 5 })).toEqual(await deliver(twin, { number: 5 }));
  });

  contract('C32 with the remote down and the pool empty enc_keys gets 503, never 500, until the remote is back', async (open) => {
    const w = await open();
    await w.client.admin.fault({ remote: 'offline' });
    await deliver(w, { number: 2 });
    await drainTo(w, 0);
    expectError(await enc(w, {}), 503);
    await w.client.admin.advance(60_000);
    expectError(await enc(w, { number: 2 }), 503);
    expectError(await encGet(w, ''), 503);
    await w.client.admin.fault({ remote: 'online' });
    await w.client.admin.advance(10_000);
    await deliver(w, { number: 2 });
  });

  contract('C32 a restarting KME answers 503 until it is back, and keeps its delivered keys', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 2 });
    await w.client.admin.fault({ restart: { kme: 'KME_B', downtimeMs: 30_000 } });
    expectError(await dec(w, keys.map((key) => key.key_ID)), 503);
    expectError(await w.call('KME_B', 'SAE_B1', 'GET', statusPath('SAE_A1')), 503);
    await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    await w.client.admin.advance(30_000);
    expect(keysOf(await dec(w, keys.map((key) => key.key_ID)), 2)).toEqual(keys);
  });
}
