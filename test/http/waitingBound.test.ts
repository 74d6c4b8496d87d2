// Keys delivered by enc_keys wait for their slave's dec_keys. A client that never calls dec_keys must not
// be able to fill the server's memory: the mock KME bounds waiting keys per pool (default: the pool's
// capacity, the max_key_count status reports), refuses beyond it with a 503 Error body that says why and
// changes nothing, counts only what it can deliver under the bound in status, and takes requests again
// once the slave retrieves keys.
import { afterEach, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/http/startServer.js';

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function start(maxWaitingKeys?: number | null): Promise<RunningServer> {
  const server = await startServer({ port: 0, seed: 3, clock: 'manual', ...(maxWaitingKeys === undefined ? {} : { maxWaitingKeys }) });
  running.push(server);
  return server;
}

async function enc(server: RunningServer, number: number): Promise<{ status: number; body: { keys?: Array<{ key_ID: string }>; message?: string } }> {
  const response = await fetch(`${server.kmes[0]?.url}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', headers: { 'x-sae-id': 'SAE_A1', 'content-type': 'application/json' }, body: JSON.stringify({ number }) });
  return { status: response.status, body: (await response.json()) as { keys?: Array<{ key_ID: string }>; message?: string } };
}

async function state(server: RunningServer): Promise<{ waitingKeys: number; pools: Array<{ slave: string; stored: number; reserved: number }> }> {
  return (await (await fetch(`${server.admin}/state`)).json()) as { waitingKeys: number; pools: Array<{ slave: string; stored: number; reserved: number }> };
}

async function storedKeyCount(server: RunningServer): Promise<number> {
  const response = await fetch(`${server.kmes[0]?.url}/api/v1/keys/SAE_A2/status`, { headers: { 'x-sae-id': 'SAE_A1' } });
  return ((await response.json()) as { stored_key_count: number }).stored_key_count;
}

it('refuses enc_keys with 503 once the pool’s capacity of keys waits for the slave, and serves again after dec_keys', async () => {
  const server = await start();
  const ids: string[] = [];
  // Capacity 1,000: 7 × 128 + 104 waiting; syncs keep the pool stocked meanwhile (the clock is manual).
  for (const number of [128, 128, 128, 128, 128, 128, 128, 104]) {
    const reply = await enc(server, number);
    expect(reply.status).toBe(200);
    ids.push(...(reply.body.keys ?? []).map((key) => key.key_ID));
    await fetch(`${server.admin}/clock/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ms":5000}' });
  }
  expect((await state(server)).waitingKeys).toBe(1000);
  // Status says what enc_keys can deliver now (C14): nothing, though the pool holds keys again.
  const stock = (await state(server)).pools.find((pool) => pool.slave === 'SAE_A2');
  expect(stock?.stored).toBeGreaterThan(0);
  expect(await storedKeyCount(server)).toBe(0);
  const before = await state(server);
  const refused = await enc(server, 1);
  expect(refused.status).toBe(503);
  expect(refused.body.message).toMatch(/wait for their slave/);
  expect(await state(server)).toEqual(before);
  const dec = await fetch(`${server.kmes[0]?.url}/api/v1/keys/SAE_A1/dec_keys`, {
    method: 'POST',
    headers: { 'x-sae-id': 'SAE_A2', 'content-type': 'application/json' },
    body: JSON.stringify({ key_IDs: ids.slice(0, 5).map((key_ID) => ({ key_ID })) }),
  });
  expect(dec.status).toBe(200);
  expect(await storedKeyCount(server)).toBe(5);
  expect((await enc(server, 5)).status).toBe(200);
  expect(await storedKeyCount(server)).toBe(0);
  expect((await enc(server, 1)).status).toBe(503);
});

it('takes a smaller bound, and none at all when told so', async () => {
  const small = await start(3);
  expect((await enc(small, 3)).status).toBe(200);
  expect((await enc(small, 1)).status).toBe(503);
  const unbounded = await start(null);
  for (let i = 0; i < 11; i++) {
    expect((await enc(unbounded, 100)).status).toBe(200);
    // The pool's syncs refill it meanwhile: only the keys waiting grow past its capacity.
    await fetch(`${unbounded.admin}/clock/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ms":5000}' });
  }
  expect((await state(unbounded)).waitingKeys).toBe(1_100);
});
