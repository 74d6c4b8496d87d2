// Routing and transport, outside the ETSI routes' own outcomes: unknown routes (404), methods a route does not
// serve (405, HEAD included), bodies that are not JSON (415) or too large (413), malformed JSON to dec_keys.
import { expect } from 'vitest';
import { dec, decPath, deliver, enc, encPath, expectError, keyIdsBody, keysOf, statusPath, stored, type Contract, type Key } from './contractKit.js';
import { RawBody } from './kmeClient.js';

export function transportContract(contract: Contract): void {
  contract('an unknown route gets a JSON 404 Error body', async (open) => {
    const w = await open();
    for (const [method, path] of [['GET', '/'], ['GET', '/api/v1/keys/SAE_B1'], ['GET', `${statusPath('SAE_B1')}/`], ['GET', '/api/v2/keys/SAE_B1/status'], ['POST', '/api/v1/keys/SAE_B1/get_keys'], ['GET', '/api/v1/keys//status']] as const) {
      const body = expectError(await w.call('KME_A', 'SAE_A1', method, path), 404);
      expect(body.message.length).toBeGreaterThan(0);
    }
  });

  contract('a method a route does not serve gets a JSON 405 Error body with Allow', async (open) => {
    const w = await open();
    for (const [method, path, allow] of [
      ['PUT', statusPath('SAE_B1'), ['GET']],
      ['POST', statusPath('SAE_B1'), ['GET']],
      ['DELETE', encPath('SAE_B1'), ['GET', 'POST']],
      ['PATCH', decPath('SAE_A1'), ['GET', 'POST']],
    ] as const) {
      const response = await w.call('KME_A', 'SAE_A1', method, path);
      expectError(response, 405);
      expect((response.headers['allow'] ?? '').split(',').map((m) => m.trim()).sort()).toEqual([...allow]);
    }
  });

  contract('HEAD on enc_keys and dec_keys gets 405 and neither reserves nor consumes a key', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    const before = await stored(w);
    for (const [kme, as, path] of [['KME_A', 'SAE_A1', encPath('SAE_B1', '?number=5')], ['KME_A', 'SAE_A1', encPath('SAE_B1')], ['KME_B', 'SAE_B1', decPath('SAE_A1', `?key_ID=${id}`)]] as const) {
      const response = await w.call(kme, as, 'HEAD', path);
      expect(response.status, `HEAD ${path}`).toBe(405);
      expect((response.headers['allow'] ?? '').split(',').map((m) => m.trim()).sort()).toEqual(['GET', 'POST']);
    }
    expect(await stored(w)).toBe(before);
    expect(keysOf(await dec(w, [id]), 1)).toEqual([key]);
  });

  contract('a body that is not application/json gets a JSON 415 Error body and changes nothing', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const before = await stored(w);
    expectError(await enc(w, new RawBody('{"number": 1}', 'text/plain')), 415);
    expectError(await enc(w, new RawBody('number=1', 'application/x-www-form-urlencoded')), 415);
    expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), new RawBody(JSON.stringify(keyIdsBody([(key as Key).key_ID])), 'text/json')), 415);
    expect(await stored(w)).toBe(before);
    expect(keysOf(await dec(w, [(key as Key).key_ID]), 1)).toEqual([key]);
  });

  contract('a body over the size limit gets a JSON 413 Error body and changes nothing', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const before = await stored(w);
    const padding = 'x'.repeat(300_000);
    expectError(await enc(w, { extension_optional: [{ padding }] }), 413);
    expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), { key_IDs: [{ key_ID: (key as Key).key_ID, key_ID_extension: { padding } }] }), 413);
    expect(await stored(w)).toBe(before);
    expect(keysOf(await dec(w, [(key as Key).key_ID]), 1)).toEqual([key]);
  });

  contract('C24 malformed JSON sent to dec_keys gets 400 with an Error body and consumes nothing', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    for (const raw of [`{"key_IDs": [{"key_ID": "${id}"}]`, `{"key_IDs": [{"key_ID": "${id}"},]}`, `[{"key_ID": "${id}"}]`, 'null']) {
      expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), new RawBody(raw, 'application/json')), 400);
    }
    expect(keysOf(await dec(w, [id]), 1)).toEqual([key]);
  });
}
