// The recording fetch of kmesim/testing over a stand-in fetch: what it keeps of each exchange, the answer
// it hands on (the same status, headers and bytes), and answers without a body.
import { expect, it } from 'vitest';
import { recordEtsiTraffic } from '../../../src/testing/etsiRecorder.js';

const KEYS = JSON.stringify({ keys: [{ key_ID: 'k1', key: 'AAAA' }, { key_ID: 'k2', key: 'BBBB' }] });

function standIn(status: number, body: string | null): typeof fetch {
  return (async () => new Response(body, { status, headers: { 'Content-Type': 'application/json', 'X-Test': 'yes' } })) as unknown as typeof fetch;
}

it('records route, caller, peer, body and key IDs, never key bytes, and hands the answer on whole', async () => {
  const recorder = recordEtsiTraffic({ fetch: standIn(200, KEYS) });
  const answer = await recorder.fetch('http://127.0.0.1:9/api/v1/keys/SAE_B1/enc_keys', { method: 'POST', headers: { 'X-SAE-ID': 'SAE_A1' }, body: '{"number":2}' });
  expect(answer.status).toBe(200);
  expect(answer.headers.get('x-test')).toBe('yes');
  expect(await answer.text()).toBe(KEYS);
  expect(recorder.exchanges()).toEqual([
    { seq: 1, method: 'POST', kme: 'http://127.0.0.1:9', path: '/api/v1/keys/SAE_B1/enc_keys', route: 'enc_keys', caller: 'SAE_A1', peer: 'SAE_B1', body: '{"number":2}', status: 200, keyIds: ['k1', 'k2'], message: null },
  ]);
  expect(JSON.stringify(recorder.exchanges())).not.toContain('AAAA');
  // The bytes stay in memory for the reference OTP, read by key ID.
  expect(recorder.keyBytes('k2')).toEqual(Uint8Array.of(0x04, 0x10, 0x41));
  expect(recorder.keyBytes('k3')).toBeUndefined();
  // A Request object goes the same way.
  await recorder.fetch(new Request('http://127.0.0.1:9/api/v1/keys/SAE_A1/dec_keys?key_ID=k1', { headers: { 'X-SAE-ID': 'SAE_B1' } }));
  expect(recorder.exchanges()[1]).toMatchObject({ seq: 2, method: 'GET', route: 'dec_keys', caller: 'SAE_B1', peer: 'SAE_A1', body: null });
  recorder.clear();
  expect(recorder.exchanges()).toEqual([]);
  expect(recorder.keyBytes('k2')).toBeUndefined();
});

it('hands on answers that have no body, and records a refusal with no key IDs', async () => {
  for (const status of [204, 205, 304]) {
    const recorder = recordEtsiTraffic({ fetch: standIn(status, null) });
    const answer = await recorder.fetch('http://127.0.0.1:9/api/v1/keys/SAE_B1/status', { headers: { 'X-SAE-ID': 'SAE_A1' } });
    expect(answer.status).toBe(status);
    expect(recorder.exchanges()[0]).toMatchObject({ status, keyIds: [] });
  }
  const refused = recordEtsiTraffic({ fetch: standIn(503, '{"message":"not enough keys available"}') });
  await refused.fetch('http://127.0.0.1:9/api/v1/keys/SAE_B1/enc_keys', { method: 'POST', body: '{}' });
  expect(refused.exchanges()[0]).toMatchObject({ status: 503, keyIds: [], caller: null, message: 'not enough keys available' });
});

it('records a path with a bad percent-encoding as sent, and hands on the KME’s answer', async () => {
  const recorder = recordEtsiTraffic({ fetch: standIn(400, '{"message":"bad request"}') });
  const answer = await recorder.fetch('http://127.0.0.1:9/api/v1/keys/%zz/status', { headers: { 'X-SAE-ID': 'SAE_A1' } });
  expect(answer.status).toBe(400);
  expect(recorder.exchanges()[0]).toMatchObject({ route: 'status', peer: '%zz', status: 400 });
});
