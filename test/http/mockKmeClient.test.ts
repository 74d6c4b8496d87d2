// The typed client startMockKme returns, used as another project's test uses it: faults limited to one
// route, SAE or KME, latency ended by advancing a manual clock, the request journal, reset and the
// invariant verdict, all over a real server on loopback.
import { afterAll, beforeEach, expect, it } from 'vitest';
import { expectInvariantsHold, MockKmeAdminError, startMockKme } from '../../src/http/startMockKme.js';

const kme = await startMockKme({ kmes: 2, seed: 9, clock: 'manual' });
afterAll(() => kme.close());

const A = kme.kmes[0]?.url as string;
const B = kme.kmes[1]?.url as string;

beforeEach(async () => {
  await kme.clearFaults();
  await kme.reset();
  await kme.clearRequests();
});

async function enc(sae = 'SAE_A1', slave = 'SAE_B1'): Promise<{ status: number; body: { keys?: Array<{ key_ID: string; key: string }>; message?: string } }> {
  const response = await fetch(`${A}/api/v1/keys/${slave}/enc_keys`, { method: 'POST', headers: { 'X-SAE-ID': sae, 'Content-Type': 'application/json' }, body: '{"number":1}' });
  return { status: response.status, body: (await response.json()) as { keys?: Array<{ key_ID: string; key: string }> } };
}

async function dec(keyId: string, sae = 'SAE_B1'): Promise<{ status: number; body: { keys?: Array<{ key_ID: string; key: string }>; message?: string } }> {
  const response = await fetch(`${B}/api/v1/keys/SAE_A1/dec_keys?key_ID=${keyId}`, { headers: { 'X-SAE-ID': sae } });
  return { status: response.status, body: (await response.json()) as { keys?: Array<{ key_ID: string; key: string }> } };
}

it('fails only the route a fault names, once, and the retry gets the key', async () => {
  await kme.fault({ type: 'fail-next', count: 1, status: 503, route: 'dec_keys' });
  const issued = await enc();
  expect(issued.status).toBe(200);
  const keyId = issued.body.keys?.[0]?.key_ID as string;
  const failed = await dec(keyId);
  expect(failed).toEqual({ status: 503, body: { message: 'injected failure' } });
  const retried = await dec(keyId);
  expect(retried.status).toBe(200);
  expect(retried.body.keys).toEqual(issued.body.keys);
  await expectInvariantsHold(kme);
});

it('fails only the SAE a fault names', async () => {
  await kme.fault({ type: 'fail-next', count: 5, status: 500, sae: 'SAE_A2' });
  expect((await enc('SAE_A1')).status).toBe(200);
  expect((await enc('SAE_A2')).status).toBe(500);
  const [fault] = await kme.faults();
  expect(fault?.fault).toMatchObject({ type: 'fail-next', sae: 'SAE_A2' });
});

it('holds an answer for a latency of any length until the manual clock passes it', async () => {
  await kme.fault({ type: 'latency', ms: 30_000, route: 'enc_keys' });
  let settled = false;
  const pending = enc().then((reply) => {
    settled = true;
    return reply;
  });
  // Other routes answer at once meanwhile.
  const status = await fetch(`${A}/api/v1/keys/SAE_B1/status`, { headers: { 'X-SAE-ID': 'SAE_A1' } });
  expect(status.status).toBe(200);
  expect(settled).toBe(false);
  await kme.advance(29_999);
  await fetch(`${A}/health`);
  expect(settled).toBe(false);
  await kme.advance(1);
  expect((await pending).status).toBe(200);
});

it('journals every ETSI request with its caller, route, status and key IDs, never key bytes', async () => {
  const issued = await enc();
  const keyId = issued.body.keys?.[0]?.key_ID as string;
  await dec(keyId, 'SAE_B2');
  await dec(keyId);
  const all = await kme.requests();
  expect(all.map((r) => [r.kme, r.route, r.sae, r.peer, r.status, r.keyIds])).toEqual([
    ['KME_A', 'enc_keys', 'SAE_A1', 'SAE_B1', 200, [keyId]],
    ['KME_B', 'dec_keys', 'SAE_B2', 'SAE_A1', 401, [keyId]],
    ['KME_B', 'dec_keys', 'SAE_B1', 'SAE_A1', 200, [keyId]],
  ]);
  expect(JSON.stringify(all)).not.toContain(issued.body.keys?.[0]?.key as string);
  expect((await kme.requests({ sae: 'SAE_B1', route: 'dec_keys' })).map((r) => r.status)).toEqual([200]);
  expect(await kme.requests({ since: all[1]?.seq as number })).toEqual([all[2]]);
});

it('resets to the same seed, so the same requests get the same keys', async () => {
  const first = await enc();
  expect(await kme.reset()).toBe(9);
  expect(await enc()).toEqual(first);
  expect(await kme.reset(10)).toBe(10);
  expect((await enc()).body.keys?.[0]?.key_ID).not.toBe(first.body.keys?.[0]?.key_ID);
});

it('refuses a fault it cannot play with a typed error that says why, and plays nothing', async () => {
  const refusal = kme.fault({ type: 'fail-next', count: 1, kme: 'KME_Z' });
  await expect(refusal).rejects.toBeInstanceOf(MockKmeAdminError);
  await expect(kme.fault({ type: 'fail-next', count: 1, kme: 'KME_Z' })).rejects.toThrow(/400 no KME KME_Z \(KMEs: KME_A, KME_B\)/);
  expect(await kme.faults()).toEqual([]);
});

it('turns a broken invariant into a failed assertion naming it', async () => {
  const verdict = await kme.invariants();
  expect(verdict.holds).toBe(true);
  await expect(expectInvariantsHold({ invariants: () => Promise.resolve({ ...verdict, holds: false, violations: [{ invariant: 'I3', message: 'key k retrieved twice', evidence: { keyId: 'k' } }] }) })).rejects.toThrow(
    'kmesim: 1 invariant violation\n  I3: key k retrieved twice {"keyId":"k"}',
  );
});

it('lists its admin operations at GET /_kmesim for clients in other languages, and refuses a bad journal query', async () => {
  const index = (await (await fetch(kme.admin)).json()) as { kmes: string[]; operations: Array<{ method: string; path: string }> };
  expect(index.kmes).toEqual(['KME_A', 'KME_B']);
  const listed = index.operations.map((op) => `${op.method} ${op.path}`);
  for (const expected of ['GET /_kmesim/state', 'POST /_kmesim/clock/advance', 'POST /_kmesim/faults', 'GET /_kmesim/faults', 'DELETE /_kmesim/faults', 'POST /_kmesim/reset', 'GET /_kmesim/requests', 'DELETE /_kmesim/requests', 'GET /_kmesim/invariants', 'GET /_kmesim/trace']) {
    expect(listed).toContain(expected);
  }
  const bad = await fetch(`${kme.admin}/requests?route=keys`);
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { message: string }).message).toMatch(/^query parameters: sae, route \(status, enc_keys, dec_keys, other\)/);
});

it('lets a request held by a latency go when the faults are cleared, and refuses it when the world is reset meanwhile', async () => {
  await kme.fault({ type: 'latency', ms: 600_000, route: 'enc_keys' });
  const cleared = enc();
  await fetch(`${A}/health`);
  await kme.clearFaults();
  expect((await cleared).status).toBe(200);
  await kme.fault({ type: 'latency', ms: 600_000, route: 'enc_keys' });
  const held = enc();
  await fetch(`${A}/health`);
  await kme.reset();
  expect(await held).toEqual({ status: 503, body: { message: 'service unavailable: the world was reset while the request was held by a latency fault' } });
  // The new world issued nothing to it, and no fault survived the reset.
  expect(await kme.faults()).toEqual([]);
  const state = (await (await fetch(`${kme.admin}/state`)).json()) as { waitingKeys: number };
  expect(state.waitingKeys).toBe(0);
});

it('journals a request whose client went away before the answer without a status, and the keys it was given after', async () => {
  await kme.fault({ type: 'latency', ms: 1_000, route: 'enc_keys' });
  const aborted = new AbortController();
  const request = fetch(`${A}/api/v1/keys/SAE_B1/enc_keys`, { method: 'POST', headers: { 'X-SAE-ID': 'SAE_A1', 'Content-Type': 'application/json' }, body: '{}', signal: aborted.signal }).catch(() => 'aborted');
  await fetch(`${A}/health`);
  aborted.abort();
  expect(await request).toBe('aborted');
  await fetch(`${A}/health`);
  await kme.advance(1_000);
  await fetch(`${A}/health`);
  const [entry] = await kme.requests({ route: 'enc_keys' });
  expect(entry?.status).toBeNull();
  expect(entry?.keyIds).toHaveLength(1);
});

it('journals requests as the router matches them, in any case, and keeps at most 64 key IDs of one', async () => {
  const upper = await fetch(`${A}/API/V1/KEYS/SAE_B1/STATUS`, { headers: { 'X-SAE-ID': 'SAE_A1' } });
  expect(upper.status).toBe(200);
  const many = Array.from({ length: 500 }, (_, i) => ({ key_ID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }));
  const refused = await fetch(`${B}/api/v1/keys/SAE_A1/dec_keys`, { method: 'POST', headers: { 'X-SAE-ID': 'SAE_B1', 'Content-Type': 'application/json' }, body: JSON.stringify({ key_IDs: many }) });
  expect(refused.status).toBe(400);
  const entries = await kme.requests();
  expect(entries.map((entry) => [entry.route, entry.peer, entry.status])).toEqual([
    ['status', 'SAE_B1', 200],
    ['dec_keys', 'SAE_A1', 400],
  ]);
  expect(entries[1]?.keyIds).toHaveLength(64);
  expect(entries[1]?.keyIdCount).toBe(500);
});

it('refuses a fault for a caller that is not there, and describes a targeted latency as a latency', async () => {
  await expect(kme.fault({ type: 'fail-next', count: 1, sae: 'SAE_NOBODY' })).rejects.toThrow(/400 no SAE SAE_NOBODY/);
  await kme.fault({ type: 'latency', ms: 0, route: 'status' });
  const state = (await (await fetch(`${kme.admin}/state`)).json()) as { faults: { targeted: unknown[] } };
  expect(state.faults.targeted).toEqual([{ route: 'status', latencyMs: 0 }]);
});

it('closes promptly with a request held by an hour-long latency on the real clock, answering it 503', async () => {
  const real = await startMockKme({ seed: 3 });
  await real.fault({ type: 'latency', ms: 3_600_000 });
  const url = real.kmes[0]?.url as string;
  const held = fetch(`${url}/api/v1/keys/SAE_A2/status`, { headers: { 'X-SAE-ID': 'SAE_A1' } }).then((r) => r.status, () => 'closed');
  await fetch(`${url}/health`);
  const started = performance.now();
  await real.close();
  expect(await held).toSatisfy((outcome: unknown) => outcome === 503 || outcome === 'closed');
  // Bounded by the event, not by the hour: a generous bound that only a held timer would break.
  expect(performance.now() - started).toBeLessThan(10_000);
});
