// The small world property tests ask for (poolCapacity, keySizeBits, maxKeysPerRequest on startMockKme and
// serve): status reports it, a pool runs dry in a few requests, and values the profile cannot take are
// refused before anything listens.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMockKme, type MockKme } from '../../src/http/startMockKme.js';

let kme: MockKme;

beforeAll(async () => {
  kme = await startMockKme({ seed: 3, clock: 'manual', poolCapacity: 4, keySizeBits: 64, maxKeysPerRequest: 2 });
});

afterAll(async () => {
  await kme.close();
});

const url = () => kme.kmes[0]?.url ?? '';
const enc = (number: number) =>
  fetch(`${url()}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', headers: { 'X-SAE-ID': 'SAE_A1', 'Content-Type': 'application/json' }, body: JSON.stringify({ number }) });

it('reports the small world in status and delivers keys of its size', async () => {
  const status = (await (await fetch(`${url()}/api/v1/keys/SAE_A2/status`, { headers: { 'X-SAE-ID': 'SAE_A1' } })).json()) as Record<string, number>;
  expect(status).toMatchObject({ key_size: 64, stored_key_count: 4, max_key_count: 4, max_key_per_request: 2 });
  const answer = await enc(2);
  expect(answer.status).toBe(200);
  const keys = ((await answer.json()) as { keys: Array<{ key: string }> }).keys;
  expect(keys.map((key) => Buffer.from(key.key, 'base64').length)).toEqual([8, 8]);
  expect((await enc(3)).status).toBe(400); // more than max_key_per_request
});

it('runs a pool dry in a few requests, and a reset fills it again', async () => {
  await kme.reset();
  expect((await enc(2)).status).toBe(200);
  expect((await enc(2)).status).toBe(200);
  expect((await enc(1)).status).toBe(503);
  await kme.reset();
  expect((await enc(2)).status).toBe(200);
  expect((await kme.invariants()).holds).toBe(true);
});

it('refuses values the profile cannot take, naming them', async () => {
  await expect(startMockKme({ poolCapacity: 0 })).rejects.toThrow(/poolCapacity/);
  await expect(startMockKme({ keySizeBits: 12 })).rejects.toThrow(/multiples of 8/);
  await expect(startMockKme({ maxKeysPerRequest: 1.5 })).rejects.toThrow(/maxKeysPerRequest/);
});

it('a request larger than the pool is told keys are short, not that keys wait', async () => {
  const small = await startMockKme({ seed: 3, clock: 'manual', poolCapacity: 4, maxKeysPerRequest: 8 });
  try {
    const answer = await fetch(`${small.kmes[0]?.url ?? ''}/api/v1/keys/SAE_A2/enc_keys`, {
      method: 'POST',
      headers: { 'X-SAE-ID': 'SAE_A1', 'Content-Type': 'application/json' },
      body: JSON.stringify({ number: 5 }),
    });
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as { message: string }).message).toBe('not enough keys available');
  } finally {
    await small.close();
  }
});
