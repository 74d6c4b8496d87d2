// How another project tests its ETSI GS QKD 014 client against kmesim in CI: start a mock KME (one KME,
// SAEs SAE_A1 and SAE_A2, identity from the X-SAE-ID header), get a key for the peer as the sender, fetch
// the same key back as the peer; then a lost dec_keys answer staged with a fault on that route alone, the
// request journal to check what the client sent, and the invariants. Nothing but the package's public
// entry and fetch.
import { expectInvariantsHold, startMockKme, type MockKme } from 'kmesim';
import { afterAll, beforeAll, expect, it } from 'vitest';

interface KeyContainer {
  keys: Array<{ key_ID: string; key: string }>;
}

let kme: MockKme;

beforeAll(async () => {
  // A fixed seed gives the same key IDs and bytes on every run.
  kme = await startMockKme({ seed: 42, clock: 'manual' });
});

afterAll(async () => {
  await kme.close();
});

it('gives the peer the same key the sender got', async () => {
  const url = kme.kmes[0]!.url;

  // The sender (master SAE_A1) asks for a 256-bit key to share with its peer (slave SAE_A2).
  const enc = await fetch(`${url}/api/v1/keys/SAE_A2/enc_keys`, {
    method: 'POST',
    headers: { 'X-SAE-ID': 'SAE_A1', 'Content-Type': 'application/json' },
    body: JSON.stringify({ number: 1, size: 256 }),
  });
  const sent = ((await enc.json()) as KeyContainer).keys[0]!;

  // The peer fetches it by ID, naming the sender.
  const dec = await fetch(`${url}/api/v1/keys/SAE_A1/dec_keys?key_ID=${sent.key_ID}`, { headers: { 'X-SAE-ID': 'SAE_A2' } });
  const received = ((await dec.json()) as KeyContainer).keys[0]!;

  expect(received).toEqual(sent);
  expect(Buffer.from(received.key, 'base64')).toHaveLength(32);

  // A key is handed out once: asking again is refused.
  const again = await fetch(`${url}/api/v1/keys/SAE_A1/dec_keys?key_ID=${sent.key_ID}`, { headers: { 'X-SAE-ID': 'SAE_A2' } });
  expect(again.status).toBe(400);
});

it('survives a lost dec_keys answer: the retry gets the key, and the journal shows both tries', async () => {
  const url = kme.kmes[0]!.url;
  await kme.clearRequests();
  await kme.fault({ type: 'fail-next', count: 1, status: 503, route: 'dec_keys' });
  const enc = await fetch(`${url}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', headers: { 'X-SAE-ID': 'SAE_A1', 'Content-Type': 'application/json' }, body: '{}' });
  const sent = ((await enc.json()) as KeyContainer).keys[0]!;
  const fetchKey = (): Promise<Response> => fetch(`${url}/api/v1/keys/SAE_A1/dec_keys?key_ID=${sent.key_ID}`, { headers: { 'X-SAE-ID': 'SAE_A2' } });
  expect((await fetchKey()).status).toBe(503);
  expect(((await (await fetchKey()).json()) as KeyContainer).keys).toEqual([sent]);
  const tries = await kme.requests({ sae: 'SAE_A2', route: 'dec_keys' });
  expect(tries.map((entry) => [entry.status, entry.keyIds])).toEqual([
    [503, []],
    [200, [sent.key_ID]],
  ]);
  // A day later on the manual clock, nothing delivered is lost and nothing was handed out twice.
  await kme.advance(86_400_000);
  await expectInvariantsHold(kme);
});
