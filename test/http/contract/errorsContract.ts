// Error answers: the shape of every Error body (C41), only the API's own statuses even for hostile input
// (C42), the spec strings exactly (C43), and extension members never null (C44).
import { expect } from 'vitest';
import { API_STATUSES, dec, decPath, deliver, enc, encGet, encPath, expectError, keysOf, MAIN, MIN_TTL_EXTENSION, statusOf, statusPath, UNKNOWN_KEY_ID, type Contract, type Key } from './contractKit.js';
import { RawBody, type KmeResponse } from './kmeClient.js';

export function errorsContract(contract: Contract): void {
  contract('C41 every 400, 401 and 503 body is an object with a string message and details as an array of objects', async (open) => {
    const w = await open();
    await w.client.admin.fault({ restart: { kme: 'KME_B', downtimeMs: 60_000 } });
    const answers = [
      await enc(w, { size: 12 }),
      await enc(w, { number: 'x' }),
      await enc(w, { extension_mandatory: [{ vendor_route: 1 }] }),
      await w.call('KME_A', 'SAE_A1', 'GET', statusPath('SAE_NOBODY')),
      await w.call('KME_A', 'SAE_B1', 'GET', statusPath('SAE_A1')),
      await dec(w, [UNKNOWN_KEY_ID], MAIN, 'SAE_B1', 'KME_A'),
      await dec(w, [UNKNOWN_KEY_ID]),
      await enc(w, new RawBody('{', 'application/json')),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400, 401, 400, 503, 400]);
    for (const answer of answers) {
      const body = answer.body as Record<string, unknown>;
      expect(typeof body).toBe('object');
      expect(Array.isArray(body)).toBe(false);
      expect(typeof body['message']).toBe('string');
      expect((body['message'] as string).length).toBeGreaterThan(0);
      if ('details' in body) {
        expect(Array.isArray(body['details'])).toBe(true);
        for (const detail of body['details'] as unknown[]) expect(detail !== null && typeof detail === 'object' && !Array.isArray(detail)).toBe(true);
      }
    }
  });

  contract('C42 API outcomes are only 200, 400, 401 and 503, even for hostile input', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    const encBodies: unknown[] = [
      { number: 1e300 }, { number: 2 ** 53 }, { size: 2 ** 53 }, { size: -(2 ** 60) }, { number: '1' }, { number: null }, { size: {} },
      { additional_slave_SAE_IDs: 'SAE_B2' }, { additional_slave_SAE_IDs: [1] }, { additional_slave_SAE_IDs: [null] }, { additional_slave_SAE_IDs: Array(1000).fill('SAE_B2') },
      { extension_mandatory: {} }, { extension_mandatory: [1] }, { extension_mandatory: [null] }, { extension_mandatory: [[]] }, { extension_optional: 'x' },
      { extension_mandatory: [{ constructor: 2, toString: 'x' }] }, { keys: [] }, { toString: 1, valueOf: 2, hasOwnProperty: 3 },
      new RawBody('{"number": 1e400}', 'application/json'), new RawBody('{"__proto__": {"number": 5}}', 'application/json'),
      new RawBody(`${'['.repeat(5000)}${']'.repeat(5000)}`, 'application/json'), new RawBody('{"number": 1, "number": 2}', 'application/json'),
      new RawBody('\uFEFF{}', 'application/json'), new RawBody('{"size": "\u0000"}', 'application/json'),
    ];
    const decBodies: unknown[] = [
      { key_IDs: [{ key_ID: id.toUpperCase() }] }, { key_IDs: [{ key_ID: id }, { key_ID: id }] }, { key_IDs: Array(1000).fill({ key_ID: UNKNOWN_KEY_ID }) },
      { key_IDs: [{ key_ID: '../../etc/passwd' }] }, { key_IDs: [{ key_ID: id, key_ID_extension: null }] }, { key_IDs: [{ key_ID: id }], key_IDs_extension: 'x' },
      { key_IDs: [{ key_ID: { $ne: null } }] },
    ];
    const answers: KmeResponse[] = [];
    for (const body of encBodies) answers.push(await enc(w, body));
    for (const body of decBodies) answers.push(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), body));
    for (const path of [
      statusPath('%00'), statusPath('%E0%A4%A'), statusPath('x'.repeat(4000)), statusPath('..%2F..%2Fetc'), statusPath('SAE_B1%3Fx%3D1'),
      encPath('SAE_B1', '?number=1&number=2'), encPath('SAE_B1', '?size=8&size=16'), encPath('SAE_B1', '?number[]=1'), encPath('SAE_B1', '?number=99999999999999999999'),
      encPath('SAE_B1', '?bogus=1'), decPath('SAE_A1', '?key_ID='), decPath('SAE_A1', `?key_ID=${id}&key_ID=${id}`), decPath('%ZZ', `?key_ID=${id}`),
    ]) {
      answers.push(await w.call(path.includes('dec_keys') ? 'KME_B' : 'KME_A', path.includes('dec_keys') ? 'SAE_B1' : 'SAE_A1', 'GET', path));
    }
    for (const answer of answers) expect(API_STATUSES, answer.text).toContain(answer.status);
    // The key survived all of that.
    expect(keysOf(await dec(w, [id]), 1)).toEqual([key]);
  });

  contract('C43 the spec strings are returned exactly, and extension_optional is handled rather than refused', async (open) => {
    const w = await open();
    expect(expectError(await enc(w, { size: 12 }), 400).message).toBe('size shall be a multiple of 8');
    expect(expectError(await enc(w, { extension_mandatory: [{ vendor_route: 1 }] }), 400).message).toBe('not all extension_mandatory parameters are supported');
    expect(expectError(await enc(w, { extension_mandatory: [{ [MIN_TTL_EXTENSION]: -1 }] }), 400).message).toBe('not all extension_mandatory request options could be met');
    expect(expectError(await dec(w, [UNKNOWN_KEY_ID]), 400).message).toBe('one or more keys specified are not found on KME');
    // Spec string 4 is optional; the strict profile handles unknown optional extensions by ignoring them.
    expect((await enc(w, { extension_optional: [{ vendor_hint: 1 }] })).status).toBe(200);
  });

  contract('C44 extension members are absent when unused and objects when present, never null', async (open) => {
    const w = await open();
    const status = await w.call('KME_A', 'SAE_A1', 'GET', statusPath('SAE_B1'));
    expect(status.body).not.toHaveProperty('status_extension');
    const answers = [await enc(w, { number: 2 }), await encGet(w, '?number=1')];
    answers.push(await dec(w, [...keysOf(answers[0] as KmeResponse), ...keysOf(answers[1] as KmeResponse)].map((key) => key.key_ID)));
    for (const answer of answers) {
      expect(answer.body).not.toHaveProperty('key_container_extension');
      for (const key of keysOf(answer)) expect(Object.keys(key).sort()).toEqual(['key', 'key_ID']);
    }
    const pools = await open({ profile: 'per-user-pool' });
    const extended = (await statusOf(pools, 'KME_A', 'SAE_A1', 'SAE_B1')).status_extension;
    expect(extended !== null && typeof extended === 'object' && !Array.isArray(extended)).toBe(true);
  });
}
