// The ETSI GS QKD 014 contract of the strict profile, item by item from shared/ETSI014.md, written once against
// KmeClient and run against every implementation (Hono's runTest({ newRouter }) pattern). Method: every test
// opens its own fresh two-KME world (fixed seed, manual clock) and drives it only through the API and the admin
// API; every response it sees is checked against the zod wire schema for its kind on the way.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { expect, it } from 'vitest';
import { errorSchema, keyContainerSchema, statusSchema, type ErrorBody, type KeyContainer, type Status } from '../../../src/model/wireSchema.js';
import { RawBody, type ContractWorldOptions, type KmeClient, type KmeName, type KmeResponse, type NewKmeClient } from './kmeClient.js';

export interface ContractSkip {
  readonly reason: string;
  /** Test names, or checklist items ("C35") that stand for every test citing them. */
  readonly tests: readonly string[];
}

// Copied from the checklist rather than imported, so a typo in src cannot agree with itself (C43).
const SPEC = {
  sizeNotMultipleOf8: 'size shall be a multiple of 8',
  extensionUnsupported: 'not all extension_mandatory parameters are supported',
  extensionUnmet: 'not all extension_mandatory request options could be met',
  keysNotFound: 'one or more keys specified are not found on KME',
} as const;
const MIN_TTL_EXTENSION = 'kmesim_min_ttl_ms';
const JSON_UTF8 = /^application\/json; ?charset=utf-8$/i;
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UNKNOWN_KEY_ID = '00000000-0000-4000-8000-000000000000';
const STATUS_ITEMS = ['source_KME_ID', 'target_KME_ID', 'master_SAE_ID', 'slave_SAE_ID'];
const STATUS_INTEGERS = ['key_size', 'stored_key_count', 'max_key_count', 'max_key_per_request', 'max_key_size', 'min_key_size', 'max_SAE_ID_count'];
const API_STATUSES = [200, 400, 401, 503];
const OPENAPI_ID = 'urn:kmesim:served-openapi';

type Key = KeyContainer['keys'][number];

/** Who asks whom for keys: the master on its KME, the slave (and where it retrieves them). */
interface Pair {
  readonly masterKme: KmeName;
  readonly master: string;
  readonly slave: string;
  readonly slaveKme: KmeName;
}
const MAIN: Pair = { masterKme: 'KME_A', master: 'SAE_A1', slave: 'SAE_B1', slaveKme: 'KME_B' };
const LOCAL: Pair = { masterKme: 'KME_A', master: 'SAE_A1', slave: 'SAE_A2', slaveKme: 'KME_A' };

interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly response: KmeResponse;
}

/** A world: the client plus every exchange it made, each one already checked against the wire schema. */
interface World {
  readonly client: KmeClient;
  readonly exchanges: Exchange[];
  call(kme: KmeName, as: string | null, method: string, path: string, body?: unknown, headers?: Readonly<Record<string, string>>): Promise<KmeResponse>;
}

const statusPath = (slave: string): string => `/api/v1/keys/${slave}/status`;
const encPath = (slave: string, query = ''): string => `/api/v1/keys/${slave}/enc_keys${query}`;
const decPath = (master: string, query = ''): string => `/api/v1/keys/${master}/dec_keys${query}`;
const keyIdsBody = (ids: readonly string[]): unknown => ({ key_IDs: ids.map((key_ID) => ({ key_ID })) });

const ETSI_ROUTE = /^\/api\/v1\/keys\/[^/?]+\/(status|enc_keys|dec_keys)(?:\?.*)?$/;
const TEMPLATES: Readonly<Record<string, string>> = {
  status: '/api/v1/keys/{slave_SAE_ID}/status',
  enc_keys: '/api/v1/keys/{slave_SAE_ID}/enc_keys',
  dec_keys: '/api/v1/keys/{master_SAE_ID}/dec_keys',
};

/** The wire kind an answer must have: Status or KeyContainer for a 200 of an ETSI route, Error for any error. */
function wireKind(path: string, status: number): 'Status' | 'KeyContainer' | 'Error' | null {
  if (status >= 400) return 'Error';
  const route = ETSI_ROUTE.exec(path)?.[1];
  if (status !== 200 || route === undefined) return null;
  return route === 'status' ? 'Status' : 'KeyContainer';
}

const ZOD_SCHEMAS = { Status: statusSchema, KeyContainer: keyContainerSchema, Error: errorSchema } as const;

function checkWireShape(method: string, path: string, response: KmeResponse): void {
  if (response.status === 0) return;
  const where = `${method} ${path} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(response.headers['content-type'], `C3 content type of ${where}`).toMatch(JSON_UTF8);
  if (method === 'HEAD') {
    expect(response.text, `no body for ${where}`).toBe('');
    return;
  }
  expect(response.body, `C3 a JSON body for ${where}`).not.toBeUndefined();
  const kind = wireKind(path, response.status);
  if (kind === null) return;
  const parsed = ZOD_SCHEMAS[kind].safeParse(response.body);
  expect(parsed.success, `${kind} schema for ${where}: ${parsed.error?.message ?? ''}`).toBe(true);
  // zod drops members it does not know: equal after parsing means the body has none (C44 never null, no extras).
  expect(parsed.data, `no unknown members in ${where}`).toEqual(response.body);
}

function wrap(client: KmeClient): World {
  const exchanges: Exchange[] = [];
  return {
    client,
    exchanges,
    async call(kme, as, method, path, body, headers) {
      const response = await client.request(kme, as, method, path, body, headers);
      checkWireShape(method, path, response);
      exchanges.push({ method, path, response });
      return response;
    },
  };
}

function expectError(response: KmeResponse, status: number, message?: string): ErrorBody {
  expect(response.status, response.text).toBe(status);
  const body = errorSchema.parse(response.body);
  if (message !== undefined) expect(body.message).toBe(message);
  return body;
}

function keysOf(response: KmeResponse, count?: number): Key[] {
  expect(response.status, response.text).toBe(200);
  const { keys } = keyContainerSchema.parse(response.body);
  if (count !== undefined) expect(keys).toHaveLength(count);
  return keys;
}

async function statusOf(w: World, kme: KmeName, as: string, slave: string): Promise<Status> {
  const response = await w.call(kme, as, 'GET', statusPath(slave));
  expect(response.status, response.text).toBe(200);
  return statusSchema.parse(response.body);
}

const stored = async (w: World, pair: Pair = MAIN): Promise<number> => (await statusOf(w, pair.masterKme, pair.master, pair.slave)).stored_key_count;
const enc = (w: World, body?: unknown, pair: Pair = MAIN): Promise<KmeResponse> => w.call(pair.masterKme, pair.master, 'POST', encPath(pair.slave), body);
const encGet = (w: World, query: string, pair: Pair = MAIN): Promise<KmeResponse> => w.call(pair.masterKme, pair.master, 'GET', encPath(pair.slave, query));
const deliver = async (w: World, request: Record<string, unknown> = {}, pair: Pair = MAIN): Promise<Key[]> => keysOf(await enc(w, request, pair), (request['number'] as number | undefined) ?? 1);
const dec = (w: World, ids: readonly string[], pair: Pair = MAIN, as = pair.slave, kme = pair.slaveKme): Promise<KmeResponse> => w.call(kme, as, 'POST', decPath(pair.master), keyIdsBody(ids));

/** Takes keys out of the pair's pool until exactly `leave` are stored. */
async function drainTo(w: World, leave: number, pair: Pair = MAIN): Promise<void> {
  const status = await statusOf(w, pair.masterKme, pair.master, pair.slave);
  for (let left = status.stored_key_count; left > leave; ) {
    const number = Math.min(status.max_key_per_request, left - leave);
    keysOf(await enc(w, { number }, pair), number);
    left -= number;
  }
  expect(await stored(w, pair)).toBe(leave);
}

function bytesOf(key: Key): Buffer {
  expect(key.key).toMatch(PADDED_BASE64);
  return Buffer.from(key.key, 'base64');
}

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Every `$ref` of an OpenAPI 3.1 document that does not resolve against the document itself (its base URI). */
function unresolvedRefs(doc: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown, at: string): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [name, value] of Object.entries(node)) {
      if (name === '$ref' && typeof value === 'string') {
        if (resolvePointer(doc, value) === undefined) found.push(`${at}: ${value}`);
      } else {
        visit(value, `${at}/${name}`);
      }
    }
  };
  visit(doc, '#');
  return found;
}

export function runEtsiContract(newClient: NewKmeClient, skip: readonly ContractSkip[] = []): void {
  const registered: string[] = [];
  const skipReason = (name: string): string | undefined =>
    skip.find((entry) => entry.tests.some((test) => test === name || name.startsWith(`${test} `)))?.reason;

  const contract = (name: string, run: (open: (options?: ContractWorldOptions) => Promise<World>) => Promise<void>): void => {
    registered.push(name);
    const reason = skipReason(name);
    if (reason !== undefined) {
      it.skip(`${name} (known gap: ${reason})`, () => undefined);
      return;
    }
    it(name, async () => {
      const opened: KmeClient[] = [];
      const open = async (options?: ContractWorldOptions): Promise<World> => {
        const client = await newClient(options);
        opened.push(client);
        return wrap(client);
      };
      try {
        await run(open);
      } finally {
        for (const client of opened.reverse()) await client.close();
      }
    });
  };

  // Identity
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

  // Status
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

  // Get key (enc_keys)
  contract('C16 {}, no body and GET without query each deliver exactly one key of key_size bits', async (open) => {
    const w = await open();
    const { key_size: keySize } = await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    const answers = [await enc(w, {}), await enc(w), await encGet(w, ''), await enc(w, new RawBody('{}', 'application/json; charset=utf-8'))];
    const keys = answers.map((answer) => keysOf(answer, 1)[0] as Key);
    for (const key of keys) expect(bytesOf(key).length * 8).toBe(keySize);
    expect(new Set(keys.map((key) => key.key_ID)).size).toBe(4);
  });

  contract('C17 number=n delivers exactly n keys, up to max_key_per_request', async (open) => {
    const w = await open();
    const max = (await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1')).max_key_per_request;
    for (const number of [1, 2, 7, max]) keysOf(await enc(w, { number }), number);
    for (const number of [1, 3]) keysOf(await encGet(w, `?number=${number}`), number);
  });

  contract('C18 every key is padded standard base64 of exactly size/8 bytes', async (open) => {
    const w = await open();
    const { max_key_size: max, min_key_size: min } = await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    // 8, 16 and 24 bits need two, one and no padding characters.
    for (const size of [...new Set([min, 8, 16, 24, 40, 256, 1000, max])]) {
      const keys = await deliver(w, { number: 2, size });
      for (const key of keys) {
        const bytes = bytesOf(key);
        expect(bytes.length).toBe(size / 8);
        expect(bytes.toString('base64')).toBe(key.key);
      }
      expect(keysOf(await dec(w, keys.map((key) => key.key_ID)), 2)).toEqual(keys);
    }
  });

  contract('C19 every key_ID is a canonical UUID, unique across pairs, KMEs and a KME restart', async (open) => {
    const w = await open();
    const ids: string[] = [];
    const collect = async (pair: Pair): Promise<void> => {
      ids.push(...(await deliver(w, { number: 50 }, pair)).map((key) => key.key_ID));
    };
    for (const pair of [MAIN, LOCAL, { masterKme: 'KME_B', master: 'SAE_B1', slave: 'SAE_A1', slaveKme: 'KME_A' }, { masterKme: 'KME_B', master: 'SAE_B2', slave: 'SAE_B1', slaveKme: 'KME_B' }, { ...MAIN, master: 'SAE_A2' }] as const) {
      await collect(pair);
    }
    await w.client.admin.fault({ restart: { kme: 'KME_A' } });
    await collect(MAIN);
    await collect(LOCAL);
    for (const id of ids) expect(id).toMatch(CANONICAL_UUID);
    expect(new Set(ids).size).toBe(ids.length);
  });

  contract('C20 GET with number and size delivers exactly what the matching POST delivers', async (open) => {
    const viaPost = await open();
    const viaGet = await open();
    for (const [number, size] of [[3, 512], [1, 8], [5, 256]] as const) {
      const posted = keysOf(await enc(viaPost, { number, size }), number);
      const got = keysOf(await encGet(viaGet, `?number=${number}&size=${size}`), number);
      // Twin worlds with one seed and one history: the same request must take the same keys.
      expect(got).toEqual(posted);
      for (const key of got) expect(bytesOf(key).length).toBe(size / 8);
    }
    expect(await stored(viaGet)).toBe(await stored(viaPost));
  });

  contract('C20 GET and POST refuse the same bad number or size alike', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const [query, body] of [['?size=12', { size: 12 }], ['?number=0', { number: 0 }], ['?size=99992', { size: 99992 }], ['?number=1000', { number: 1000 }]] as const) {
      const viaGet = await encGet(w, query);
      const viaPost = await enc(w, body);
      expect(viaGet.status).toBe(400);
      expect([viaGet.status, viaGet.body]).toEqual([viaPost.status, viaPost.body]);
    }
    expect(await stored(w)).toBe(before);
  });

  contract('C21 a size that is not a multiple of 8 gets 400 "size shall be a multiple of 8" and delivers nothing', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const size of [1, 7, 12, 257, 1001]) expectError(await enc(w, { size }), 400, SPEC.sizeNotMultipleOf8);
    expectError(await encGet(w, '?size=12&number=2'), 400, SPEC.sizeNotMultipleOf8);
    expect(await stored(w)).toBe(before);
  });

  contract('C22 a size outside [min_key_size, max_key_size] gets 400 while both bounds are served', async (open) => {
    const w = await open();
    const { min_key_size: min, max_key_size: max } = await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    const before = await stored(w);
    for (const size of [min - 8, -8, max + 8, max * 8]) {
      const error = expectError(await enc(w, { size }), 400);
      // These sizes are multiples of 8: the refusal is for the range, not spec string 1.
      expect(error.message).not.toBe(SPEC.sizeNotMultipleOf8);
    }
    expect(await stored(w)).toBe(before);
    expect(bytesOf((await deliver(w, { size: min }))[0] as Key).length).toBe(min / 8);
    expect(bytesOf((await deliver(w, { size: max }))[0] as Key).length).toBe(max / 8);
  });

  contract('C23 a number that is not an integer from 1 to max_key_per_request gets 400', async (open) => {
    const w = await open();
    const max = (await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1')).max_key_per_request;
    const before = await stored(w);
    for (const number of [0, -1, max + 1, 1.5, '2', null, true]) expectError(await enc(w, { number }), 400);
    for (const query of ['?number=0', '?number=-3', `?number=${max + 1}`, '?number=1.5', '?number=abc', '?number=', '?number=1e2']) {
      expectError(await encGet(w, query), 400);
    }
    expect(await stored(w)).toBe(before);
  });

  contract('C24 malformed JSON or a body that is not a JSON object gets 400 with an Error body', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const raw of ['{"number": 1', '{number: 1}', "{'number': 1}", '[]', '[{"number": 1}]', '"keys"', '42', 'null', 'true']) {
      expectError(await enc(w, new RawBody(raw, 'application/json')), 400);
    }
    expect(await stored(w)).toBe(before);
  });

  contract('C25 an unsupported extension_mandatory gets 400 with spec string 2 naming the parameter', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const extensions of [[{ vendor_route: 'fast' }], [{ [MIN_TTL_EXTENSION]: 60_000 }, { vendor_route: 'fast' }]]) {
      const error = expectError(await enc(w, { extension_mandatory: extensions }), 400, SPEC.extensionUnsupported);
      expect(error.details?.some((detail) => Object.hasOwn(detail, 'vendor_route'))).toBe(true);
    }
    expect(await stored(w)).toBe(before);
  });

  contract('C26 a supported but unmeetable extension_mandatory gets 400 with spec string 3', async (open) => {
    const w = await open();
    const before = await stored(w);
    for (const value of [Number.MAX_SAFE_INTEGER, -1, 'soon', 1.5]) {
      expectError(await enc(w, { extension_mandatory: [{ [MIN_TTL_EXTENSION]: value }] }), 400, SPEC.extensionUnmet);
    }
    expect(await stored(w)).toBe(before);
    await deliver(w, { number: 2, extension_mandatory: [{ [MIN_TTL_EXTENSION]: 60_000 }] });
  });

  contract('C27 an unknown extension_optional is ignored and the keys are delivered (200)', async (open) => {
    const w = await open();
    await deliver(w, { extension_optional: [{ vendor_hint: 'x' }] });
    await deliver(w, { number: 2, size: 64, extension_optional: [{ vendor_hint: { nested: [1, 2] } }, { other: null }] });
  });

  contract('C28 additional_slave_SAE_IDs beyond max_SAE_ID_count, duplicated, or naming the master or slave get 400', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const before = await stored(w);
    for (const additional of [['SAE_B2', 'SAE_A2', 'SAE_NOBODY'], ['SAE_B2', 'SAE_B2'], ['SAE_A1'], ['SAE_B1'], ['SAE_B2', 'SAE_B1']]) {
      expectError(await enc(w, { additional_slave_SAE_IDs: additional }), 400);
    }
    expect(await stored(w)).toBe(before);
    await deliver(w, { additional_slave_SAE_IDs: ['SAE_B2'] });
  });

  contract('C28 additional slaves are refused when max_SAE_ID_count is 0', async (open) => {
    const w = await open();
    expect((await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1')).max_SAE_ID_count).toBe(0);
    const before = await stored(w);
    expectError(await enc(w, { additional_slave_SAE_IDs: ['SAE_B2'] }), 400);
    expect(await stored(w)).toBe(before);
    await deliver(w, { additional_slave_SAE_IDs: [] });
  });

  contract('C28 additional slaves unknown or attached to another KME than the slave get 400 (choice)', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const before = await stored(w);
    for (const additional of [['SAE_NOBODY'], ['SAE_A2']]) expectError(await enc(w, { additional_slave_SAE_IDs: additional }), 400);
    expect(await stored(w)).toBe(before);
  });

  contract('C29 every additional slave retrieves the identical key bytes through dec_keys naming the master', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const keys = await deliver(w, { number: 3, size: 128, additional_slave_SAE_IDs: ['SAE_B2'] });
    const ids = keys.map((key) => key.key_ID);
    expect(keysOf(await dec(w, ids), 3)).toEqual(keys);
    expect(keysOf(await dec(w, ids, MAIN, 'SAE_B2'), 3)).toEqual(keys);
  });

  contract('C30 a delivered key is never delivered by enc_keys again', async (open) => {
    const w = await open();
    const keys = [
      ...(await deliver(w, { number: 100 })),
      ...keysOf(await encGet(w, '?number=60'), 60),
      ...(await deliver(w, { number: 100 }, { ...MAIN, master: 'SAE_A2' })),
      ...(await deliver(w, { number: 100 })),
    ];
    expect(new Set(keys.map((key) => key.key_ID)).size).toBe(keys.length);
    expect(new Set(keys.map((key) => key.key)).size).toBe(keys.length);
  });

  contract('C30 concurrent requests on one pool never deliver the same key twice', async (open) => {
    const w = await open();
    const before = await stored(w);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 3 === 2 ? encGet(w, '?number=5') : enc(w, { number: 5 }, i % 3 === 1 ? { ...MAIN, master: 'SAE_A2' } : MAIN))),
    );
    const keys = answers.flatMap((answer) => keysOf(answer, 5));
    expect(new Set(keys.map((key) => key.key_ID)).size).toBe(60);
    expect(await stored(w)).toBe(before - 60);
  });

  contract('C31 a request for more keys than are stored gets 503 and delivers nothing', async (open) => {
    const w = await open();
    const twin = await open();
    await drainTo(w, 5);
    await drainTo(twin, 5);
    const refused = expectError(await enc(w, { number: 6 }), 503);
    expect(refused.message.length).toBeGreaterThan(0);
    expect(await stored(w)).toBe(5);
    // The twin never saw the refused request: the same next keys prove that nothing was taken.
    expect(await deliver(w, { number: 5 })).toEqual(await deliver(twin, { number: 5 }));
  });

  contract('C32 with the remote down and the pool empty enc_keys gets 503, never 500, until the remote is back', async (open) => {
    const w = await open();
    await w.client.admin.fault({ remote: 'offline' });
    await deliver(w, { number: 2 });
    await drainTo(w, 0);
    expectError(await enc(w, {}), 503);
    await w.client.admin.advance(60_000);
    expectError(await enc(w, { number: 2 }), 503);
    expectError(await encGet(w, ''), 503);
    await w.client.admin.fault({ remote: 'online' });
    await w.client.admin.advance(10_000);
    await deliver(w, { number: 2 });
  });

  contract('C32 a restarting KME answers 503 until it is back, and keeps its delivered keys', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 2 });
    await w.client.admin.fault({ restart: { kme: 'KME_B', downtimeMs: 30_000 } });
    expectError(await dec(w, keys.map((key) => key.key_ID)), 503);
    expectError(await w.call('KME_B', 'SAE_B1', 'GET', statusPath('SAE_A1')), 503);
    await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    await w.client.admin.advance(30_000);
    expect(keysOf(await dec(w, keys.map((key) => key.key_ID)), 2)).toEqual(keys);
  });

  // Get key with key IDs (dec_keys)
  contract('C33 the slave gets the identical key_ID and bytes from its own KME naming the master', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 3 });
    expect(keysOf(await dec(w, keys.map((key) => key.key_ID)), 3)).toEqual(keys);
    const local = await deliver(w, { number: 2 }, LOCAL);
    expect(keysOf(await dec(w, local.map((key) => key.key_ID), LOCAL), 2)).toEqual(local);
  });

  contract('C33 either KME of the link serves the slave, but only once (choice)', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    expect(keysOf(await dec(w, [id], MAIN, 'SAE_B1', 'KME_A'), 1)).toEqual([key]);
    expectError(await dec(w, [id]), 400, SPEC.keysNotFound);
  });

  contract('C34 dec_keys returns several keys in request order, and GET with key_ID returns one', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 5 });
    const order = [3, 0, 4, 1];
    const asked = order.map((i) => keys[i] as Key);
    expect(keysOf(await dec(w, asked.map((key) => key.key_ID)), 4)).toEqual(asked);
    const last = keys[2] as Key;
    expect(keysOf(await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1', `?key_ID=${last.key_ID}`)), 1)).toEqual([last]);
  });

  contract('C35 a caller not named as slave gets 401 and consumes nothing', async (open) => {
    const w = await open();
    const [forB1] = await deliver(w);
    const [forB2] = await deliver(w, {}, { ...MAIN, slave: 'SAE_B2' });
    const b1 = (forB1 as Key).key_ID;
    const b2 = (forB2 as Key).key_ID;
    expectError(await dec(w, [b1], MAIN, 'SAE_B2'), 401);
    expectError(await dec(w, [b2, b1], MAIN, 'SAE_B2'), 401);
    expectError(await dec(w, [b1], MAIN, 'SAE_A1', 'KME_A'), 401);
    expectError(await dec(w, [b1], MAIN, 'SAE_A2', 'KME_A'), 401);
    expectError(await dec(w, [b1], MAIN, 'SAE_NOBODY'), 401);
    expect(keysOf(await dec(w, [b2], MAIN, 'SAE_B2'), 1)).toEqual([forB2]);
    expect(keysOf(await dec(w, [b1]), 1)).toEqual([forB1]);
  });

  contract('C35 a list naming a foreign key and an unknown key gets 401 before 400 (choice)', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    expectError(await dec(w, [UNKNOWN_KEY_ID, (key as Key).key_ID], MAIN, 'SAE_B2'), 401);
    expect(keysOf(await dec(w, [(key as Key).key_ID]), 1)).toEqual([key]);
  });

  contract('C36 unknown, consumed, expired or other-master key IDs get 400 with spec string 5', async (open) => {
    const w = await open();
    expectError(await dec(w, [UNKNOWN_KEY_ID]), 400, SPEC.keysNotFound);
    const [consumed, otherMaster] = await deliver(w, { number: 2 });
    keysOf(await dec(w, [(consumed as Key).key_ID]), 1);
    expectError(await dec(w, [(consumed as Key).key_ID]), 400, SPEC.keysNotFound);
    expectError(await dec(w, [(otherMaster as Key).key_ID], { ...MAIN, master: 'SAE_A2' }), 400, SPEC.keysNotFound);
    expectError(await dec(w, [(otherMaster as Key).key_ID], { ...MAIN, master: 'SAE_NOBODY' }), 400, SPEC.keysNotFound);
    const [expiring] = await deliver(w);
    await w.client.admin.advance(2 * 24 * 3_600_000);
    expectError(await dec(w, [(expiring as Key).key_ID]), 400, SPEC.keysNotFound);
  });

  contract('C37 a retrieved key cannot be retrieved again, through either KME', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 2 });
    const ids = keys.map((key) => key.key_ID);
    keysOf(await dec(w, ids), 2);
    expectError(await dec(w, ids), 400, SPEC.keysNotFound);
    expectError(await dec(w, [ids[1] as string], MAIN, 'SAE_B1', 'KME_A'), 400, SPEC.keysNotFound);
    expectError(await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1', `?key_ID=${ids[0] as string}`)), 400, SPEC.keysNotFound);
  });

  contract('C37 with multicast each named slave retrieves the key exactly once', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const [key] = await deliver(w, { additional_slave_SAE_IDs: ['SAE_B2'] });
    const id = (key as Key).key_ID;
    keysOf(await dec(w, [id]), 1);
    expectError(await dec(w, [id]), 400, SPEC.keysNotFound);
    expect(keysOf(await dec(w, [id], MAIN, 'SAE_B2'), 1)).toEqual([key]);
    expectError(await dec(w, [id], MAIN, 'SAE_B2'), 400, SPEC.keysNotFound);
    expectError(await dec(w, [id], MAIN, 'SAE_B2', 'KME_A'), 400, SPEC.keysNotFound);
  });

  contract('C38 a refused dec_keys consumes none of the keys it names', async (open) => {
    const w = await open();
    const keys = await deliver(w, { number: 2 });
    const ids = keys.map((key) => key.key_ID);
    expectError(await dec(w, [...ids, UNKNOWN_KEY_ID]), 400, SPEC.keysNotFound);
    expectError(await dec(w, [ids[0] as string, 'not-a-uuid']), 400);
    const [fromA2] = await deliver(w, {}, { ...MAIN, master: 'SAE_A2' });
    expectError(await dec(w, [ids[1] as string, (fromA2 as Key).key_ID]), 400, SPEC.keysNotFound);
    expect(keysOf(await dec(w, ids), 2)).toEqual(keys);
  });

  contract('C39 key_IDs missing, empty, not an array or with an entry that is not a UUID get 400', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    const bodies: unknown[] = [
      {},
      { key_IDs: [] },
      { key_IDs: id },
      { key_IDs: { key_ID: id } },
      { key_IDs: null },
      { key_IDs: [{ key_ID: id }, { key_ID: 'not-a-uuid' }] },
      { key_IDs: [{ key_ID: id }, {}] },
      { key_IDs: [{ key_ID: id }, { key_ID: 42 }] },
      { key_IDs: [id] },
      { key_IDs: [{ key_ID: `{${id}}` }] },
      { key_IDs: [{ key_ID: id.replace(/-/g, '') }] },
    ];
    for (const body of bodies) expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), body), 400);
    expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1')), 400);
    expectError(await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1')), 400);
    expectError(await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1', '?key_ID=not-a-uuid')), 400);
    expect(keysOf(await dec(w, [id]), 1)).toEqual([key]);
  });

  // Errors
  contract('C41 every 400, 401 and 503 body is an object with a string message and details as an array of objects', async (open) => {
    const w = await open();
    await w.client.admin.fault({ restart: { kme: 'KME_B', downtimeMs: 60_000 } });
    const answers = [
      await enc(w, { size: 12 }),
      await enc(w, { number: 'x' }),
      await enc(w, { extension_mandatory: [{ vendor_route: 1 }] }),
      await w.call('KME_A', 'SAE_A1', 'GET', statusPath('SAE_NOBODY')),
      await w.call('KME_A', 'SAE_B1', 'GET', statusPath('SAE_A1')),
      await dec(w, [UNKNOWN_KEY_ID], MAIN, 'SAE_B1', 'KME_A'),
      await dec(w, [UNKNOWN_KEY_ID]),
      await enc(w, new RawBody('{', 'application/json')),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400, 401, 400, 503, 400]);
    for (const answer of answers) {
      const body = answer.body as Record<string, unknown>;
      expect(typeof body).toBe('object');
      expect(Array.isArray(body)).toBe(false);
      expect(typeof body['message']).toBe('string');
      expect((body['message'] as string).length).toBeGreaterThan(0);
      if ('details' in body) {
        expect(Array.isArray(body['details'])).toBe(true);
        for (const detail of body['details'] as unknown[]) expect(detail !== null && typeof detail === 'object' && !Array.isArray(detail)).toBe(true);
      }
    }
  });

  contract('C42 API outcomes are only 200, 400, 401 and 503, even for hostile input', async (open) => {
    const w = await open({ maxSaeIdCount: 2 });
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    const encBodies: unknown[] = [
      { number: 1e300 }, { number: 2 ** 53 }, { size: 2 ** 53 }, { size: -(2 ** 60) }, { number: '1' }, { number: null }, { size: {} },
      { additional_slave_SAE_IDs: 'SAE_B2' }, { additional_slave_SAE_IDs: [1] }, { additional_slave_SAE_IDs: [null] }, { additional_slave_SAE_IDs: Array(1000).fill('SAE_B2') },
      { extension_mandatory: {} }, { extension_mandatory: [1] }, { extension_mandatory: [null] }, { extension_mandatory: [[]] }, { extension_optional: 'x' },
      { extension_mandatory: [{ constructor: 2, toString: 'x' }] }, { keys: [] }, { toString: 1, valueOf: 2, hasOwnProperty: 3 },
      new RawBody('{"number": 1e400}', 'application/json'), new RawBody('{"__proto__": {"number": 5}}', 'application/json'),
      new RawBody(`${'['.repeat(5000)}${']'.repeat(5000)}`, 'application/json'), new RawBody('{"number": 1, "number": 2}', 'application/json'),
      new RawBody('\uFEFF{}', 'application/json'), new RawBody('{"size": "\u0000"}', 'application/json'),
    ];
    const decBodies: unknown[] = [
      { key_IDs: [{ key_ID: id.toUpperCase() }] }, { key_IDs: [{ key_ID: id }, { key_ID: id }] }, { key_IDs: Array(1000).fill({ key_ID: UNKNOWN_KEY_ID }) },
      { key_IDs: [{ key_ID: '../../etc/passwd' }] }, { key_IDs: [{ key_ID: id, key_ID_extension: null }] }, { key_IDs: [{ key_ID: id }], key_IDs_extension: 'x' },
      { key_IDs: [{ key_ID: { $ne: null } }] },
    ];
    const answers: KmeResponse[] = [];
    for (const body of encBodies) answers.push(await enc(w, body));
    for (const body of decBodies) answers.push(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), body));
    for (const path of [
      statusPath('%00'), statusPath('%E0%A4%A'), statusPath('x'.repeat(4000)), statusPath('..%2F..%2Fetc'), statusPath('SAE_B1%3Fx%3D1'),
      encPath('SAE_B1', '?number=1&number=2'), encPath('SAE_B1', '?size=8&size=16'), encPath('SAE_B1', '?number[]=1'), encPath('SAE_B1', '?number=99999999999999999999'),
      encPath('SAE_B1', '?bogus=1'), decPath('SAE_A1', '?key_ID='), decPath('SAE_A1', `?key_ID=${id}&key_ID=${id}`), decPath('%ZZ', `?key_ID=${id}`),
    ]) {
      answers.push(await w.call(path.includes('dec_keys') ? 'KME_B' : 'KME_A', path.includes('dec_keys') ? 'SAE_B1' : 'SAE_A1', 'GET', path));
    }
    for (const answer of answers) expect(API_STATUSES, answer.text).toContain(answer.status);
    // The key survived all of that.
    expect(keysOf(await dec(w, [id]), 1)).toEqual([key]);
  });

  contract('C43 the spec strings are returned exactly, and extension_optional is handled rather than refused', async (open) => {
    const w = await open();
    expect(expectError(await enc(w, { size: 12 }), 400).message).toBe('size shall be a multiple of 8');
    expect(expectError(await enc(w, { extension_mandatory: [{ vendor_route: 1 }] }), 400).message).toBe('not all extension_mandatory parameters are supported');
    expect(expectError(await enc(w, { extension_mandatory: [{ [MIN_TTL_EXTENSION]: -1 }] }), 400).message).toBe('not all extension_mandatory request options could be met');
    expect(expectError(await dec(w, [UNKNOWN_KEY_ID]), 400).message).toBe('one or more keys specified are not found on KME');
    // Spec string 4 is optional; the strict profile handles unknown optional extensions by ignoring them.
    expect((await enc(w, { extension_optional: [{ vendor_hint: 1 }] })).status).toBe(200);
  });

  contract('C44 extension members are absent when unused and objects when present, never null', async (open) => {
    const w = await open();
    const status = await w.call('KME_A', 'SAE_A1', 'GET', statusPath('SAE_B1'));
    expect(status.body).not.toHaveProperty('status_extension');
    const answers = [await enc(w, { number: 2 }), await encGet(w, '?number=1')];
    answers.push(await dec(w, [...keysOf(answers[0] as KmeResponse), ...keysOf(answers[1] as KmeResponse)].map((key) => key.key_ID)));
    for (const answer of answers) {
      expect(answer.body).not.toHaveProperty('key_container_extension');
      for (const key of keysOf(answer)) expect(Object.keys(key).sort()).toEqual(['key', 'key_ID']);
    }
    const pools = await open({ profile: 'per-user-pool' });
    const extended = (await statusOf(pools, 'KME_A', 'SAE_A1', 'SAE_B1')).status_extension;
    expect(extended !== null && typeof extended === 'object' && !Array.isArray(extended)).toBe(true);
  });

  // Routing and transport
  contract('an unknown route gets a JSON 404 Error body', async (open) => {
    const w = await open();
    for (const [method, path] of [['GET', '/'], ['GET', '/api/v1/keys/SAE_B1'], ['GET', `${statusPath('SAE_B1')}/`], ['GET', '/api/v2/keys/SAE_B1/status'], ['POST', '/api/v1/keys/SAE_B1/get_keys'], ['GET', '/api/v1/keys//status']] as const) {
      const body = expectError(await w.call('KME_A', 'SAE_A1', method, path), 404);
      expect(body.message.length).toBeGreaterThan(0);
    }
  });

  contract('a method a route does not serve gets a JSON 405 Error body with Allow', async (open) => {
    const w = await open();
    for (const [method, path, allow] of [
      ['PUT', statusPath('SAE_B1'), ['GET']],
      ['POST', statusPath('SAE_B1'), ['GET']],
      ['DELETE', encPath('SAE_B1'), ['GET', 'POST']],
      ['PATCH', decPath('SAE_A1'), ['GET', 'POST']],
    ] as const) {
      const response = await w.call('KME_A', 'SAE_A1', method, path);
      expectError(response, 405);
      expect((response.headers['allow'] ?? '').split(',').map((m) => m.trim()).sort()).toEqual([...allow]);
    }
  });

  contract('HEAD on enc_keys and dec_keys gets 405 and neither reserves nor consumes a key', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    const before = await stored(w);
    for (const [kme, as, path] of [['KME_A', 'SAE_A1', encPath('SAE_B1', '?number=5')], ['KME_A', 'SAE_A1', encPath('SAE_B1')], ['KME_B', 'SAE_B1', decPath('SAE_A1', `?key_ID=${id}`)]] as const) {
      const response = await w.call(kme, as, 'HEAD', path);
      expect(response.status, `HEAD ${path}`).toBe(405);
      expect((response.headers['allow'] ?? '').split(',').map((m) => m.trim()).sort()).toEqual(['GET', 'POST']);
    }
    expect(await stored(w)).toBe(before);
    expect(keysOf(await dec(w, [id]), 1)).toEqual([key]);
  });

  contract('a body that is not application/json gets a JSON 415 Error body and changes nothing', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const before = await stored(w);
    expectError(await enc(w, new RawBody('{"number": 1}', 'text/plain')), 415);
    expectError(await enc(w, new RawBody('number=1', 'application/x-www-form-urlencoded')), 415);
    expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), new RawBody(JSON.stringify(keyIdsBody([(key as Key).key_ID])), 'text/json')), 415);
    expect(await stored(w)).toBe(before);
    expect(keysOf(await dec(w, [(key as Key).key_ID]), 1)).toEqual([key]);
  });

  contract('a body over the size limit gets a JSON 413 Error body and changes nothing', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const before = await stored(w);
    const padding = 'x'.repeat(300_000);
    expectError(await enc(w, { extension_optional: [{ padding }] }), 413);
    expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), { key_IDs: [{ key_ID: (key as Key).key_ID, key_ID_extension: { padding } }] }), 413);
    expect(await stored(w)).toBe(before);
    expect(keysOf(await dec(w, [(key as Key).key_ID]), 1)).toEqual([key]);
  });

  contract('C24 malformed JSON sent to dec_keys gets 400 with an Error body and consumes nothing', async (open) => {
    const w = await open();
    const [key] = await deliver(w);
    const id = (key as Key).key_ID;
    for (const raw of [`{"key_IDs": [{"key_ID": "${id}"}]`, `{"key_IDs": [{"key_ID": "${id}"},]}`, `[{"key_ID": "${id}"}]`, 'null']) {
      expectError(await w.call('KME_B', 'SAE_B1', 'POST', decPath('SAE_A1'), new RawBody(raw, 'application/json')), 400);
    }
    expect(keysOf(await dec(w, [id]), 1)).toEqual([key]);
  });

  // The served OpenAPI document
  contract('the served OpenAPI document resolves every $ref against itself', async (open) => {
    const w = await open();
    const response = await w.call('KME_A', 'SAE_A1', 'GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(unresolvedRefs(response.body)).toEqual([]);
  });

  contract('every response validates against its zod wire schema and the served OpenAPI schema for its route and status', async (open) => {
    const w = await open();
    const pools = await open({ profile: 'per-user-pool' });
    const doc = (await w.call('KME_A', 'SAE_A1', 'GET', '/openapi.json')).body as Record<string, unknown>;
    // A tour of every kind of answer: both statuses, keys from both routes and methods, every error status.
    await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    await statusOf(w, 'KME_B', 'SAE_B1', 'SAE_B2');
    await statusOf(pools, 'KME_A', 'SAE_A1', 'SAE_B1');
    const keys = [...(await deliver(w, { number: 2 })), ...keysOf(await encGet(w, '?number=2&size=64'), 2)];
    await dec(w, keys.slice(0, 3).map((key) => key.key_ID));
    await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1', `?key_ID=${(keys[3] as Key).key_ID}`));
    await enc(w, { size: 12 });
    await dec(w, [UNKNOWN_KEY_ID]);
    await dec(w, (await deliver(w)).map((key) => key.key_ID), MAIN, 'SAE_B2');
    await w.call('KME_A', 'SAE_NOBODY', 'GET', statusPath('SAE_B1'));
    await w.call('KME_A', 'SAE_A1', 'GET', '/api/v1/nothing');
    await w.call('KME_A', 'SAE_A1', 'PUT', encPath('SAE_B1'));
    await enc(w, new RawBody('x', 'text/plain'));
    await enc(w, { extension_optional: [{ padding: 'x'.repeat(300_000) }] });
    await w.client.admin.fault({ restart: { kme: 'KME_B', downtimeMs: 60_000 } });
    await w.call('KME_B', 'SAE_B1', 'GET', statusPath('SAE_A1'));

    // References resolve as OpenAPI 3.1 resolves them: against the document, whose base URI this $id stands for.
    const ajv = new Ajv2020({ strict: true, allErrors: true }).addKeyword({ keyword: 'components' });
    ajv.addSchema({ $id: OPENAPI_ID, components: doc['components'] });
    const validatorFor = (ref: string): ValidateFunction => {
      expect(resolvePointer(doc, ref), `served document has ${ref}`).toBeTypeOf('object');
      let validate: ValidateFunction | undefined;
      expect(() => (validate = ajv.getSchema(`${OPENAPI_ID}${ref}`)), `${ref} compiles with its references resolved`).not.toThrow();
      if (validate === undefined) throw new Error(`no schema at ${ref}`);
      return validate;
    };
    const exchanges = [...w.exchanges, ...pools.exchanges].filter((e) => ETSI_ROUTE.test(e.path) || e.response.status >= 400);
    const statuses = new Set(exchanges.map((e) => e.response.status));
    expect([...statuses].sort()).toEqual([200, 400, 401, 404, 405, 413, 415, 503]);
    for (const { method, path, response } of exchanges) {
      const template = TEMPLATES[ETSI_ROUTE.exec(path)?.[1] ?? ''];
      const operation =
        template === undefined ? undefined : (resolvePointer(doc, `#/paths/${encodeURIComponent(template).replace(/%2F/g, '~1')}/${method.toLowerCase()}`) as Record<string, unknown> | undefined);
      const documented = operation === undefined ? undefined : resolvePointer(operation, `#/responses/${response.status}/content/application~1json/schema/$ref`);
      // API outcomes must be documented for their operation; routing and transport errors use the Error schema.
      if (API_STATUSES.includes(response.status) && operation !== undefined) expect(documented, `${method} ${path} documents ${response.status}`).toBeTypeOf('string');
      const ref = typeof documented === 'string' ? documented : '#/components/schemas/Error';
      const validate = validatorFor(ref);
      expect(validate(response.body), `${method} ${path} → ${response.status} against ${ref}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      expect(ref.endsWith(`/${wireKind(path, response.status) ?? 'none'}`)).toBe(true);
    }
  });

  const unmatched = skip.flatMap((entry) => entry.tests).filter((test) => !registered.some((name) => name === test || name.startsWith(`${test} `)));
  if (unmatched.length > 0) throw new Error(`runEtsiContract: skip names no test: ${unmatched.join(', ')}`);
}
