// Concurrent clients on one pool over real HTTP: each test starts startServer in-process (manual clock, so
// no sync or expiry changes a count meanwhile), fires 64 requests at once with fetch and judges the
// answers together: no key twice (I1), counts that add up (C14, I8), one retrieval per key (I3). The last
// test switches on the check-then-act bug to show these same requests do catch a double delivery.
import { afterEach, expect, it } from 'vitest';
import { startServer, type RunningServer, type ServerOptions } from '../../src/http/startServer.js';

const PARALLEL = 64;

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

interface Key {
  readonly key_ID: string;
  readonly key: string;
}

const running: RunningServer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function start(options: ServerOptions = {}): Promise<string> {
  const server = await startServer({ port: 0, seed: 3, clock: 'manual', ...options });
  running.push(server);
  return (server.kmes[0] as { url: string }).url;
}

async function call(url: string, sae: string, body?: unknown): Promise<Reply> {
  const response = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'X-SAE-ID': sae, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

async function storedKeyCount(kmeUrl: string): Promise<number> {
  const reply = await call(`${kmeUrl}/api/v1/keys/SAE_A2/status`, 'SAE_A1');
  return (reply.body as { stored_key_count: number }).stored_key_count;
}

/** 64 enc_keys at once from SAE_A1 for SAE_A2, asking for 1, 2, 3, 4, 1, … keys. */
async function encKeysInParallel(kmeUrl: string): Promise<Reply[]> {
  // 64 status calls first open 64 keep-alive connections, so the enc_keys arrive together rather than
  // one TCP handshake apart: the overlap a careless server breaks under.
  await Promise.all(Array.from({ length: PARALLEL }, () => call(`${kmeUrl}/api/v1/keys/SAE_A2/status`, 'SAE_A1')));
  return Promise.all(Array.from({ length: PARALLEL }, (_, i) => call(`${kmeUrl}/api/v1/keys/SAE_A2/enc_keys`, 'SAE_A1', { number: 1 + (i % 4) })));
}

function deliveredKeys(replies: readonly Reply[]): Key[] {
  return replies.filter((reply) => reply.status === 200).flatMap((reply) => (reply.body as { keys: Key[] }).keys);
}

function duplicatesOf(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return values.filter((value) => seen.has(value) || !seen.add(value));
}

it('answers 64 parallel enc_keys on one pool without a 5xx or a key ID twice, and stored_key_count falls by exactly what was delivered (I1, C14, I8)', async () => {
  const kme = await start();
  const before = await storedKeyCount(kme);
  const replies = await encKeysInParallel(kme);
  expect(replies).toHaveLength(PARALLEL);
  expect(replies.filter((reply) => reply.status >= 500)).toEqual([]);
  expect(replies.map((reply) => reply.status)).toEqual(Array(PARALLEL).fill(200));
  const keys = deliveredKeys(replies);
  expect(keys).toHaveLength(16 * (1 + 2 + 3 + 4));
  expect(duplicatesOf(keys.map((key) => key.key_ID))).toEqual([]);
  expect(duplicatesOf(keys.map((key) => key.key))).toEqual([]);
  expect(await storedKeyCount(kme)).toBe(before - keys.length);
});

it('delivers a key to 64 parallel dec_keys by its slave exactly once, answering the rest 400 (I3 consume-once)', async () => {
  const kme = await start();
  const [key] = deliveredKeys([await call(`${kme}/api/v1/keys/SAE_A2/enc_keys`, 'SAE_A1', {})]);
  if (key === undefined) throw new Error('no key delivered');
  const replies = await Promise.all(
    Array.from({ length: PARALLEL }, () => call(`${kme}/api/v1/keys/SAE_A1/dec_keys`, 'SAE_A2', { key_IDs: [{ key_ID: key.key_ID }] })),
  );
  const delivered = replies.filter((reply) => reply.status === 200);
  expect(delivered.map((reply) => reply.body)).toEqual([{ keys: [key] }]);
  expect(replies.filter((reply) => reply.status !== 200).map((reply) => reply.status)).toEqual(Array(PARALLEL - 1).fill(400));
});

it('catches the check-then-act bug: the same 64 parallel enc_keys deliver some key twice (I1)', async () => {
  const kme = await start({ bugs: ['check-then-act'] });
  // The race needs requests to overlap, which a loaded machine may spread out: up to three tries.
  let duplicates: string[] = [];
  for (let attempt = 0; attempt < 3 && duplicates.length === 0; attempt++) {
    duplicates = duplicatesOf(deliveredKeys(await encKeysInParallel(kme)).map((key) => key.key_ID));
  }
  expect(duplicates.length).toBeGreaterThan(0);
});
