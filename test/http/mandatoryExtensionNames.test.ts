// C25 for every name JSON can carry: a mandatory extension called "__proto__" is as unsupported as any
// other, so enc_keys refuses it with spec string 2 and reserves nothing. (The schema library never copies a
// "__proto__" member into its output, which once made the extension vanish and the request succeed.)
// The server runs in-process on port 0 with a manual clock; requests go over real HTTP.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { keepMandatoryExtensionNames, keyRequestSchema, SPEC_ERROR } from '../../src/model/wireSchema.js';

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startServer({ kmes: 1, port: 0, seed: 1, clock: 'manual' });
  base = (server.kmes[0] as { url: string }).url;
});

afterAll(() => server.close());

async function storedKeys(): Promise<number> {
  const response = await fetch(`${base}/api/v1/keys/SAE_A2/status`, { headers: { 'X-SAE-ID': 'SAE_A1' } });
  return ((await response.json()) as { stored_key_count: number }).stored_key_count;
}

function encKeys(text: string): Promise<Response> {
  return fetch(`${base}/api/v1/keys/SAE_A2/enc_keys`, { method: 'POST', headers: { 'X-SAE-ID': 'SAE_A1', 'Content-Type': 'application/json' }, body: text });
}

it('C25 refuses a mandatory extension named __proto__ with spec string 2 and reserves nothing', async () => {
  const before = await storedKeys();
  for (const text of ['{"extension_mandatory":[{"__proto__":{"x":1}}]}', '{"number":2,"extension_mandatory":[{"kmesim_min_ttl_ms":5},{"__proto__":null}]}']) {
    const response = await encKeys(text);
    expect(response.status, text).toBe(400);
    expect(((await response.json()) as { message: string }).message).toBe(SPEC_ERROR.extensionMandatoryUnsupported);
  }
  expect(await storedKeys()).toBe(before);
});

it('C27 still serves an optional extension named __proto__', async () => {
  const response = await encKeys('{"extension_optional":[{"__proto__":{"x":1}}]}');
  expect(response.status).toBe(200);
});

it('keepMandatoryExtensionNames puts a dropped __proto__ name back as an own member, and nothing else changes', () => {
  const raw: unknown = JSON.parse('{"number":1,"extension_mandatory":[{"a":1},{"__proto__":{"x":1},"b":2}]}');
  const parsed = keyRequestSchema.parse(raw);
  expect(Object.keys(parsed.extension_mandatory?.[1] ?? {})).toEqual(['b']);
  const kept = keepMandatoryExtensionNames(raw, parsed);
  expect(kept.extension_mandatory?.map((extension) => Object.keys(extension))).toEqual([['a'], ['__proto__', 'b']]);
  expect(Object.getPrototypeOf(kept.extension_mandatory?.[1])).toBeNull();
  expect(kept.number).toBe(1);
  const plain = keyRequestSchema.parse({ extension_mandatory: [{ a: 1 }] });
  expect(keepMandatoryExtensionNames({ extension_mandatory: [{ a: 1 }] }, plain)).toBe(plain);
});
