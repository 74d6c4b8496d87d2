// Get status: the eleven mandatory items and what each must say (C9–C12), stored_key_count as exactly what
// enc_keys can deliver (C14), and an unknown slave (C15).
import { expect } from 'vitest';
import { deliver, drainTo, enc, encPath, expectError, statusOf, statusPath, stored, type Contract } from './contractKit.js';

const STATUS_ITEMS = ['source_KME_ID', 'target_KME_ID', 'master_SAE_ID', 'slave_SAE_ID'];
const STATUS_INTEGERS = ['key_size', 'stored_key_count', 'max_key_count', 'max_key_per_request', 'max_key_size', 'min_key_size', 'max_SAE_ID_count'];

export function statusContract(contract: Contract): void {
  contract('C9 status answers 200 with the eleven mandatory items as four strings and seven integers', async (open) => {
    for (const options of [{}, { maxSaeIdCount: 2 }]) {
      const w = await open(options);
      const response = await w.call('KME_A', 'SAE_A1', 'GET', statusPath('SAE_B1'));
      expect(response.status).toBe(200);
      const body = response.body as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual([...STATUS_ITEMS, ...STATUS_INTEGERS].sort());
      for (const name of STATUS_ITEMS) expect(typeof body[name], name).toBe('string');
      for (const name of STATUS_INTEGERS) expect(Number.isSafeInteger(body[name]), name).toBe(true);
      expect(body['max_SAE_ID_count']).toBe(options.maxSaeIdCount ?? 0);
    }
  });

  contract('C10 master_SAE_ID is the caller and slave_SAE_ID is the path', async (open) => {
    const w = await open();
    for (const [kme, caller, slave] of [['KME_A', 'SAE_A1', 'SAE_B1'], ['KME_A', 'SAE_A2', 'SAE_A1'], ['KME_B', 'SAE_B2', 'SAE_A2'], ['KME_B', 'SAE_B1', 'SAE_B2']] as const) {
      const status = await statusOf(w, kme, caller, slave);
      expect([status.master_SAE_ID, status.slave_SAE_ID]).toEqual([caller, slave]);
    }
  });

  contract('C11 source_KME_ID is the called KME and target_KME_ID is the slave\'s KME', async (open) => {
    const w = await open();
    for (const [kme, caller, slave, target] of [['KME_A', 'SAE_A1', 'SAE_B1', 'KME_B'], ['KME_A', 'SAE_A1', 'SAE_A2', 'KME_A'], ['KME_B', 'SAE_B2', 'SAE_A1', 'KME_A'], ['KME_B', 'SAE_B2', 'SAE_B1', 'KME_B']] as const) {
      const status = await statusOf(w, kme, caller, slave);
      expect([status.source_KME_ID, status.target_KME_ID]).toEqual([kme, target]);
    }
  });

  contract('C12 min_key_size ≤ key_size ≤ max_key_size and stored_key_count ≤ max_key_count', async (open) => {
    const w = await open();
    await deliver(w, { number: 5 });
    for (const [kme, caller, slave] of [['KME_A', 'SAE_A1', 'SAE_B1'], ['KME_A', 'SAE_A2', 'SAE_A1'], ['KME_B', 'SAE_B1', 'SAE_A1']] as const) {
      const s = await statusOf(w, kme, caller, slave);
      expect(s.min_key_size).toBeGreaterThan(0);
      expect(s.min_key_size).toBeLessThanOrEqual(s.key_size);
      expect(s.key_size).toBeLessThanOrEqual(s.max_key_size);
      expect(s.stored_key_count).toBeGreaterThanOrEqual(0);
      expect(s.stored_key_count).toBeLessThanOrEqual(s.max_key_count);
    }
  });

  contract('C14 stored_key_count falls by n after n keys are delivered', async (open) => {
    const w = await open();
    let expected = await stored(w);
    for (const number of [1, 7, 40]) {
      await deliver(w, { number });
      expected -= number;
      expect(await stored(w)).toBe(expected);
    }
    await deliver(w, { number: 3, size: 512 });
    expect(await stored(w)).toBe(expected - 3);
  });

  contract('C14 stored_key_count is exactly what enc_keys can deliver', async (open) => {
    const w = await open();
    await drainTo(w, 20);
    expectError(await enc(w, { number: 21 }), 503);
    expect(await stored(w)).toBe(20);
    await deliver(w, { number: 20 });
    expect(await stored(w)).toBe(0);
    expectError(await enc(w, {}), 503);
  });

  contract('C15 an unknown slave SAE gets 400 from status and enc_keys', async (open) => {
    const w = await open();
    expectError(await w.call('KME_A', 'SAE_A1', 'GET', statusPath('SAE_NOBODY')), 400);
    expectError(await w.call('KME_A', 'SAE_A1', 'POST', encPath('SAE_NOBODY'), {}), 400);
    expectError(await w.call('KME_A', 'SAE_A1', 'GET', encPath('SAE_NOBODY', '?number=1')), 400);
  });
}
