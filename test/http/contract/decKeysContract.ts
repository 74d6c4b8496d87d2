// Get key with key IDs (dec_keys): the slave gets the very keys the master got (C33, C34), only a named slave
// may ask (C35), unknown and used keys are refused (C36, C37), a refused request consumes nothing (C38), and
// a malformed key_IDs list is refused (C39).
import { expect } from 'vitest';
import { dec, decPath, deliver, expectError, keysOf, LOCAL, MAIN, SPEC, UNKNOWN_KEY_ID, type Contract, type Key } from './contractKit.js';

export function decKeysContract(contract: Contract): void {
  contract('C33 the slave gets the identical key_ID and bytes from its own KME naming the master', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 3 });
    expect(keysOf(await dec(w, keys.map((key) => key.key_ID)), 3)).toEqual(keys);
    const local = await deliver(w, { number: 2 }, LOCAL);
    expect(keysOf(await dec(w, local.map((key) => key.key_ID), LOCAL), 2)).toEqual(local);
  });

  contract('C33 either KME of the link serves the slave, but only once (choice)', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    expect(keysOf(await dec(w, [id], MAIN, 'SAE_B1', 'KME_A'), 1)).toEqual([key]);
    expectError(await dec(w, [id]), 400, SPEC.keysNotFound);
  });

  contract('C34 dec_keys returns several keys in request order, and GET with key_ID returns one', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 5 });
    const order = [3, 0, 4, 1];
    const asked = order.map((i) => keys[i] as Key);
    expect(keysOf(await dec(w, asked.map((key) => key.key_ID)), 4)).toEqual(asked);
    const last = keys[2] as Key;
    expect(keysOf(await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1', `?key_ID=${last.key_ID}`)), 1)).toEqual([last]);
  });

  contract('C35 a caller not named as slave gets 401 and consumes nothing', async (open) => {
    const w = await open();
    const [forB1] = await deliver(w);
    const [forB2] = await deliver(w, {}, { ...MAIN, slave: 'SAE_B2' });
    const b1 = (forB1 as Key).key_ID;
    const b2 = (forB2 as Key).key_ID;
    expectError(await dec(w, [b1], MAIN, 'SAE_B2'), 401);
    expectError(await dec(w, [b2, b1], MAIN, 'SAE_B2'), 401);
    expectError(await dec(w, [b1], MAIN, 'SAE_A1', 'KME_A'), 401);
    expectError(await dec(w, [b1], MAIN, 'SAE_A2', 'KME_A'), 401);
    expectError(await dec(w, [b1], MAIN, 'SAE_NOBODY'), 401);
    expect(keysOf(await dec(w, [b2], MAIN, 'SAE_B2'), 1)).toEqual([forB2]);
    expect(keysOf(await dec(w, [b1]), 1)).toEqual([forB1]);
  });

  contract('C35 a list naming a foreign key and an unknown key gets 401 before 400 (choice)', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    expectError(await dec(w, [UNKNOWN_KEY_ID, (key as Key).key_ID], MAIN, 'SAE_B2'), 401);
    expect(keysOf(await dec(w, [(key as Key).key_ID]), 1)).toEqual([key]);
  });

  contract('C36 unknown, consumed, expired or other-master key IDs get 400 with spec string 5', async (open) => {
    const w = await open();
    expectError(await dec(w, [UNKNOWN_KEY_ID]), 400, SPEC.keysNotFound);
    const [consumed, otherMaster] = await deliver(w, { number: 2 });
    keysOf(await dec(w, [(consumed as Key).key_ID]), 1);
    expectError(await dec(w, [(consumed as Key).key_ID]), 400, SPEC.keysNotFound);
    expectError(await dec(w, [(otherMaster as Key).key_ID], { ...MAIN, master: 'SAE_A2' }), 400, SPEC.keysNotFound);
    expectError(await dec(w, [(otherMaster as Key).key_ID], { ...MAIN, master: 'SAE_NOBODY' }), 400, SPEC.keysNotFound);
    const [expiring] = await deliver(w);
    await w.client.admin.advance(2 * 24 * 3_600_000);
    expectError(await dec(w, [(expiring as Key).key_ID]), 400, SPEC.keysNotFound);
  });

  contract('C37 a retrieved key cannot be retrieved again, through either KME', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 2 });
    const ids = keys.map((key) => key.key_ID);
    keysOf(await dec(w, ids), 2);
    expectError(await dec(w, ids), 400, SPEC.keysNotFound);
    expectError(await dec(w, [ids[1] as string], MAIN, 'SAE_B1', 'KME_A'), 400, SPEC.keysNotFound);
    expectError(await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1', `?key_ID=${ids[0] as string}`)), 400, SPEC.keysNotFound);
  });

  contract('C37 with multicast each named slave retrieves the key exactly once', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const [key] = await deliver(w, { additional_slave_SAE_IDs: ['SAE_B2'] });
    const id = (key as Key).key_ID;
    keysOf(await dec(w, [id]), 1);
    expectError(await dec(w, [id]), 400, SPEC.keysNotFound);
    expect(keysOf(await dec(w, [id], MAIN, 'SAE_B2'), 1)).toEqual([key]);
    expectError(await dec(w, [id], MAIN, 'SAE_B2'), 400, SPEC.keysNotFound);
    expectError(await dec(w, [id], MAIN, 'SAE_B2', 'KME_A'), 400, SPEC.keysNotFound);
  });

  contract('C38 a refused dec_keys consumes none of the keys it names', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 2 });
    const ids = keys.map((key) => key.key_ID);
    expectError(await dec(w, [...ids, UNKNOWN_KEY_ID]), 400, SPEC.keysNotFound);
    expectError(await dec(w, [ids[0] as string, 'not-a-uuid']), 400);
    const [fromA2] = await deliver(w, {}, { ...MAIN, master: 'SAE_A2' });
    expectError(await dec(w, [ids[1] as string, (fromA2 as Key).key_ID]), 400, SPEC.keysNotFound);
    expect(keysOf(await dec(w, ids), 2)).toEqual(keys);
  });

  contract('C39 key_IDs missing, empty, not an array or with an entry that is not a UUID get 400', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    const bodies: unknown[] = [
      {},
      { key_IDs: [] },
      { key_IDs: id },
      { key_IDs: { key_ID: id } },
      { key_IDs: null },
      { key_IDs: [{ key_ID: id }, { key_ID: 'not-a-uuid' }] },
      { key_IDs: [{ key_ID: id }, {}] },
      { key_IDs: [{ key_ID: id }, { key_ID: 42 }] },
      { key_IDs: [id] },
      { key_IDs: [{ key_ID: `{${id}}` }] },
      { key_IDs: [{ key_ID: id.replace(/-/g, '') }] },
    ];
    for (const body of bodies) expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), body), 400);
    expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1')), 400);
    expectError(await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1')), 400);
    expectError(await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1', '?key_ID=not-a-uuid')), 400);
    expect(keysOf(await dec(w, [id]), 1)).toEqual([key]);
  });
}
