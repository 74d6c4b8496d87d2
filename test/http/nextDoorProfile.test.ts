// The `next-door` profile over real HTTP: the seed KME's documented per-user-pool flow (register 201 →
// enc_keys from the receiver's pool → dec_keys → status, refill, pools, km/status, delete) under both of
// its prefixes, with its shapes and status codes, and the live invariants holding throughout. Then the
// `retry` switch: what a repeated dec_keys gets, burn or idempotent.
import { afterEach, expect, it } from 'vitest';
import { expectInvariantsHold, startMockKme, type MockKme } from '../../src/http/startMockKme.js';

const SYNC_LATENCY_MS = 500;
let kme: MockKme | undefined;

afterEach(async () => {
  await kme?.close();
  kme = undefined;
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function call(url: string, init: { method?: string; sae?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.sae !== undefined) headers['X-SAE-ID'] = init.sae;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

type PoolView = { sae_id: string; available_keys: number; used_keys: number; reserved_keys: number; total_keys: number };

for (const prefix of ['/api/v1/keys', '/api/v1/user-keys']) {
  it(`passes the seed KME's documented per-user-pool flow under ${prefix}`, async () => {
    kme = await startMockKme({ profile: 'next-door', seed: 7, clock: 'manual', syncLatencyMs: SYNC_LATENCY_MS });
    const api = `${kme.kmes[0]!.url}${prefix}`;

    const alice = await call(`${api}/register`, { method: 'POST', body: { sae_id: 'SAE_ALICE_001', user_email: 'alice@example.com', initial_pool_size: 20 } });
    expect(alice).toEqual({
      status: 201,
      body: expect.objectContaining({ success: true, sae_id: 'SAE_ALICE_001', user_email: 'alice@example.com', kme_id: 'KME_A', keys_generated: 20, pool_size: 20, key_size: 1024 }),
    });
    expect((await call(`${api}/register`, { method: 'POST', body: { sae_id: 'SAE_BOB_001', initial_pool_size: 20 } })).status).toBe(201);
    const again = await call(`${api}/register`, { method: 'POST', body: { sae_id: 'SAE_BOB_001' } });
    expect(again.status).toBe(400);
    expect(again.body['message']).toEqual(expect.any(String));

    // The sender asks for keys from the receiver's pool; the receiver fetches them by ID.
    const sent = await call(`${api}/SAE_BOB_001/enc_keys`, { method: 'POST', sae: 'SAE_ALICE_001', body: { number: 5, size: 8192 } });
    expect(sent.status).toBe(200);
    const keys = sent.body['keys'] as Array<{ key_ID: string; key: string }>;
    expect(keys.map((key) => key.key_ID)).toEqual(['000001', '000002', '000003', '000004', '000005'].map((n) => `qk_SAE_BOB_001_${n}`));
    expect(keys.every((key) => Buffer.from(key.key, 'base64').length === 1024)).toBe(true);
    const received = await call(`${api}/SAE_ALICE_001/dec_keys`, { method: 'POST', sae: 'SAE_BOB_001', body: { key_IDs: keys.map((key) => ({ key_ID: key.key_ID })) } });
    expect(received).toEqual({ status: 200, body: { keys } });
    // One-time use: the delivery is burnt (the default retry).
    expect((await call(`${api}/SAE_ALICE_001/dec_keys`, { method: 'POST', sae: 'SAE_BOB_001', body: { key_IDs: [{ key_ID: keys[0]!.key_ID }] } })).status).toBe(400);

    const status = await call(`${api}/SAE_BOB_001/status`, { sae: 'SAE_ALICE_001' });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ slave_SAE_ID: 'SAE_BOB_001', stored_key_count: 15, max_key_count: 20, key_size: 8192 });

    // Exhaustion is the seed's 400, and refuses whole: nothing is taken.
    const exhausted = await call(`${api}/SAE_BOB_001/enc_keys`, { method: 'POST', sae: 'SAE_ALICE_001', body: { number: 16 } });
    expect(exhausted).toEqual({ status: 400, body: { message: 'Insufficient keys available', details: [{ stored_key_count: 15, requested: 16 }] } });
    // That refusal asked the remote for keys (demand); let that sync land before the refill.
    await kme.advance(SYNC_LATENCY_MS);
    await call(`${api}/SAE_BOB_001/enc_keys`, { method: 'POST', sae: 'SAE_ALICE_001', body: { number: 8 } });

    // A refill asks the remote for keys_to_add keys, which arrive after the sync latency.
    const pools = async (): Promise<{ pools: PoolView[]; summary: Record<string, number> }> => (await call(`${api}/pools`)).body as never;
    const bob = async (): Promise<PoolView | undefined> => (await pools()).pools.find((pool) => pool.sae_id === 'SAE_BOB_001');
    expect((await bob())?.available_keys).toBe(12);
    const refill = await call(`${api}/SAE_BOB_001/refill`, { method: 'POST', sae: 'SAE_BOB_001', body: { keys_to_add: 3 } });
    expect(refill).toEqual({ status: 200, body: expect.objectContaining({ success: true, sae_id: 'SAE_BOB_001', keys_requested: 3, syncs_started: 1 }) });
    expect((await bob())?.available_keys).toBe(12);
    await kme.advance(SYNC_LATENCY_MS);
    expect((await bob())?.available_keys).toBe(15);

    const listed = await pools();
    const sum = (field: keyof PoolView): number => listed.pools.reduce((total, pool) => total + (pool[field] as number), 0);
    expect(listed.summary).toEqual({
      total_pools: listed.pools.length,
      total_available_keys: sum('available_keys'),
      total_reserved_keys: sum('reserved_keys'),
      total_used_keys: sum('used_keys'),
      pools_below_threshold: 0,
    });
    expect(listed.pools.every((pool) => pool.total_keys === pool.available_keys + pool.reserved_keys + pool.used_keys)).toBe(true);

    const km = await call(`${api}/km/status`);
    expect(km).toEqual({ status: 200, body: expect.objectContaining({ success: true, local_km_id: 'KME_A', kme_id: 'KME_A', remote_km_status: 'online', total_available_keys: sum('available_keys') }) });

    // Only the SAE itself may delete itself; then its pool is gone.
    expect((await call(`${api}/SAE_BOB_001`, { method: 'DELETE', sae: 'SAE_ALICE_001' })).status).toBe(401);
    expect(await call(`${api}/SAE_BOB_001`, { method: 'DELETE', sae: 'SAE_BOB_001' })).toEqual({ status: 200, body: expect.objectContaining({ success: true, sae_id: 'SAE_BOB_001', deleted: true }) });
    expect(await bob()).toBeUndefined();

    await expectInvariantsHold(kme);
  });
}

it('serves the key routes under /api/v1/user-keys only in the next-door profile', async () => {
  kme = await startMockKme({ profile: 'per-user-pool', seed: 7 });
  const url = kme.kmes[0]!.url;
  expect((await call(`${url}/api/v1/user-keys/SAE_A2/status`, { sae: 'SAE_A1' })).status).toBe(404);
  expect((await call(`${url}/api/v1/keys/SAE_A2/status`, { sae: 'SAE_A1' })).status).toBe(200);
  // And the per-user-pool profile keeps its own shapes: a plain 200 on register, exhaustion 503.
  expect((await call(`${url}/api/v1/keys/register`, { method: 'POST', body: { sae_id: 'SAE_NEW', initial_pool_size: 2 } })).status).toBe(200);
  expect((await call(`${url}/api/v1/keys/SAE_NEW/enc_keys`, { method: 'POST', sae: 'SAE_A1', body: { number: 3 } })).status).toBe(503);
});

for (const retry of ['burn', 'idempotent'] as const) {
  it(`retry ${retry}: a dec_keys repeated after a lost answer is ${retry === 'burn' ? 'refused' : 'answered with the same keys'}, and the invariants hold`, async () => {
    kme = await startMockKme({ seed: 3, clock: 'manual', retry, ...(retry === 'idempotent' ? { retryGraceMs: 10_000 } : {}) });
    const url = kme.kmes[0]!.url;
    const sent = (await call(`${url}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', sae: 'SAE_A1', body: { number: 2 } })).body['keys'] as Array<{ key_ID: string }>;
    const body = { key_IDs: sent.map((key) => ({ key_ID: key.key_ID })) };
    const first = await call(`${url}/api/v1/keys/SAE_A1/dec_keys`, { method: 'POST', sae: 'SAE_A2', body });
    expect(first.status).toBe(200);
    await kme.advance(9_999);
    const repeat = await call(`${url}/api/v1/keys/SAE_A1/dec_keys`, { method: 'POST', sae: 'SAE_A2', body });
    if (retry === 'burn') expect(repeat.status).toBe(400);
    else expect(repeat).toEqual(first);
    // Nobody else gets them, and past the grace nobody at all.
    expect((await call(`${url}/api/v1/keys/SAE_A1/dec_keys`, { method: 'POST', sae: 'SAE_A1', body })).status).toBe(400);
    await kme.advance(1);
    expect((await call(`${url}/api/v1/keys/SAE_A1/dec_keys`, { method: 'POST', sae: 'SAE_A2', body })).status).toBe(400);
    await expectInvariantsHold(kme);
  });
}

it('refuses a retry mode or grace it does not have with a RangeError', async () => {
  await expect(startMockKme({ retry: 'sometimes' as never })).rejects.toThrow(/^startMockKme: retry must be one of burn, idempotent, got "sometimes"$/);
  await expect(startMockKme({ retry: 'idempotent', retryGraceMs: -1 })).rejects.toThrow(/^startMockKme: retryGraceMs must be a non-negative integer, got -1$/);
  await expect(startMockKme({ retryGraceMs: 5_000 })).rejects.toThrow(/^startMockKme: retryGraceMs needs retry: 'idempotent'/);
});

for (const prefix of ['/api/v1/user-keys', '/api/v1/keys']) {
  it(`runs the Python example: the seed's documented flow against \`serve\` with KMESIM_PROFILE=next-door, under ${prefix}`, async () => {
    const { execFile } = await import('node:child_process');
    const { join } = await import('node:path');
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const env = { ...process.env, KMESIM_COMMAND: `${process.execPath} bin/kmesim.js` };
      execFile('python3', ['examples/python/next_door_flow.py', prefix], { cwd: join(import.meta.dirname, '..', '..'), env, timeout: 60_000 }, (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') return reject(error);
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      });
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`ok: the per-user-pool flow passed under ${prefix}\n`);
  }, 60_000);
}

it('refuses SAE IDs that --sae would refuse, says who is missing, and starts no sync for a full pool', async () => {
  kme = await startMockKme({ profile: 'next-door', seed: 7, clock: 'manual' });
  const api = `${kme.kmes[0]!.url}/api/v1/user-keys`;
  for (const saeId of ['a b/c', 'x'.repeat(65), 'x\ny', '-dash-first', '']) {
    const refused = await call(`${api}/register`, { method: 'POST', body: { sae_id: saeId } });
    expect(refused.status, saeId).toBe(400);
    expect(refused.body['message']).toBe('bad request format');
  }
  expect((await call(`${api}/register`, { method: 'POST', body: { sae_id: 'mail.paris:1~a-b_c' } })).status).toBe(201);
  // No identity at all: the answer says so, whoever the path names.
  expect(await call(`${api}/SAE_A1`, { method: 'DELETE' })).toEqual({ status: 401, body: { message: 'missing X-SAE-ID header' } });
  expect((await call(`${api}/SAE_A1/refill`, { method: 'POST', body: {} })).body).toEqual({ message: 'missing X-SAE-ID header' });
  // SAE_A1's pools are full: a refill asks for nothing and starts nothing.
  const full = await call(`${api}/SAE_A1/refill`, { method: 'POST', sae: 'SAE_A1', body: { keys_to_add: 5 } });
  expect(full.body).toMatchObject({ success: true, keys_requested: 0, syncs_started: 0, message: 'no refill started: the pool is full or a sync is already in flight' });
  expect((await kme.requests({ route: 'status' })).length).toBe(0);
});
