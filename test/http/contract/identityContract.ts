// Identity and the basics of every answer: the caller is the authenticated SAE and nobody else (C2), every
// answer is JSON in UTF-8 (C3), and SAE IDs in the path are percent-decoded once (C4).
import { expect } from 'vitest';
import { dec, decPath, deliver, enc, encGet, encPath, expectError, JSON_UTF8, keyIdsBody, keysOf, MAIN, SPEC, statusOf, statusPath, stored, type Contract, type Key } from './contractKit.js';
import { RawBody, type KmeResponse } from './kmeClient.js';

export function identityContract(contract: Contract): void {
  contract('C2 the caller is the authenticated SAE, never an SAE named in the body', async (open) => {
    const w = await open();
    const [key] = keysOf(await enc(w, { number: 1, master_SAE_ID: 'SAE_A2' }), 1);
    const id = (key as Key).key_ID;
    expectError(await dec(w, [id], { ...MAIN, master: 'SAE_A2' }), 400, SPEC.keysNotFound);
    expect(keysOf(await dec(w, [id]), 1)).toEqual([key]);
  });

  contract('C2 a request that carries no identity is refused and changes nothing', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const [kme, method, path, body] of [
      ['KME_A', 'GET', statusPath('SAE_B1'), undefined],
      ['KME_A', 'POST', encPath('SAE_B1'), { number: 3 }],
      ['KME_A', 'GET', encPath('SAE_B1')],
    ] as const) {
      const response = await w.call(kme, null, method, path, body);
      // Header mode answers 401; mTLS refuses the handshake itself, so there is no HTTP answer at all (C1).
      if (w.client.auth === 'header') expectError(response, 401);
      else expect(response.status, response.text).toBe(0);
    }
    expect(await stored(w)).toBe(before);
  });

  contract('C2 status and enc_keys refuse an SAE attached to another KME or unknown to any (401)', async (open) => {
    const w = await open();
    expectError(await w.call('KME_B', 'SAE_A1', 'GET', statusPath('SAE_B1')), 401);
    expectError(await w.call('KME_B', 'SAE_A1', 'POST', encPath('SAE_B1'), {}), 401);
    expectError(await w.call('KME_A', 'SAE_NOBODY', 'GET', statusPath('SAE_B1')), 401);
    expectError(await w.call('KME_A', 'SAE_NOBODY', 'POST', encPath('SAE_B1'), {}), 401);
    expect(await stored(w)).toBe((await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1')).max_key_count);
  });

  contract('C3 every kind of answer is application/json in UTF-8', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const answers = [
      await w.call('KME_A', 'SAE_A1', 'GET', statusPath('SAE_B1')),
      await encGet(w, '?number=1'),
      await dec(w, [(key as Key).key_ID]),
      await enc(w, { size: 12 }),
      await w.call('KME_A', 'SAE_NOBODY', 'GET', statusPath('SAE_B1')),
      await w.call('KME_A', 'SAE_A1', 'GET', '/api/v1/nothing'),
      await w.call('KME_A', 'SAE_A1', 'PUT', statusPath('SAE_B1')),
      await enc(w, new RawBody('number=1', 'application/x-www-form-urlencoded')),
      await w.call('KME_A', 'SAE_A1', 'GET', statusPath('S%C3%84E_%E2%82%AC')),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 400, 401, 404, 405, 415, 400]);
    for (const answer of answers) {
      expect(answer.headers['content-type']).toMatch(JSON_UTF8);
      expect(JSON.parse(answer.text)).toEqual(answer.body);
    }
    // A non-ASCII SAE ID comes back intact in the error details: the body really is UTF-8.
    expect((answers[8] as KmeResponse).text).toContain('SÄE_€');
  });

  contract('C4 SAE IDs in the path are percent-decoded, exactly once', async (open) => {
    const w = await open();
    const status = await statusOf(w, 'KME_A', 'SAE_A1', 'SAE%5FB1');
    expect(status.slave_SAE_ID).toBe('SAE_B1');
    const keys = keysOf(await w.call('KME_A', 'SAE_A1', 'POST', encPath('SAE%5FB1'), { number: 2 }), 2);
    const retrieved = keysOf(await w.call('KME_B', 'SAE_B1', 'POST', decPath('%53AE_A1'), keyIdsBody(keys.map((k) => k.key_ID))), 2);
    expect(retrieved).toEqual(keys);
    // `%255F` decodes to the literal `%5F`, which names nobody.
    expectError(await w.call('KME_A', 'SAE_A1', 'GET', statusPath('SAE%255FB1')), 400);
  });
}
