// What every part of the ETSI contract suite (etsiContract.ts) is written with: the spec strings, the pairs
// of SAEs that ask each other for keys, a World that checks every answer against the zod wire schema for
// its kind on the way, and the requests and answer checks the tests repeat.
import { expect } from 'vitest';
import { errorSchema, keyContainerSchema, statusSchema, type ErrorBody, type KeyContainer, type Status } from '../../../src/model/wireSchema.js';
import type { ContractWorldOptions, KmeClient, KmeName, KmeResponse } from './kmeClient.js';

// Copied from the checklist rather than imported, so a typo in src cannot agree with itself (C43).
export const SPEC = {
  sizeNotMultipleOf8: 'size shall be a multiple of 8',
  extensionUnsupported: 'not all extension_mandatory parameters are supported',
  extensionUnmet: 'not all extension_mandatory request options could be met',
  keysNotFound: 'one or more keys specified are not found on KME',
} as const;
export const MIN_TTL_EXTENSION = 'kmesim_min_ttl_ms';
export const JSON_UTF8 = /^application\/json; ?charset=utf-8$/i;
const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export const UNKNOWN_KEY_ID = '00000000-0000-4000-8000-000000000000';
export const API_STATUSES = [200, 400, 401, 503];

export type Key = KeyContainer['keys'][number];

/** Who asks whom for keys: the master on its KME, the slave (and where it retrieves them). */
export interface Pair {
  readonly masterKme: KmeName;
  readonly master: string;
  readonly slave: string;
  readonly slaveKme: KmeName;
}
export const MAIN: Pair = { masterKme: 'KME_A', master: 'SAE_A1', slave: 'SAE_B1', slaveKme: 'KME_B' };
export const LOCAL: Pair = { masterKme: 'KME_A', master: 'SAE_A1', slave: 'SAE_A2', slaveKme: 'KME_A' };

interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly response: KmeResponse;
}

/** A world: the client plus every exchange it made, each one already checked against the wire schema. */
export interface World {
  readonly client: KmeClient;
  readonly exchanges: Exchange[];
  call(kme: KmeName, as: string | null, method: string, path: string, body?: unknown, headers?: Readonly<Record<string, string>>): Promise<KmeResponse>;
}

/** Registers one contract test; `open` starts a fresh world, closed when the test ends. */
export type Contract = (name: string, run: (open: (options?: ContractWorldOptions) => Promise<World>) => Promise<void>) => void;

export const statusPath = (slave: string): string => `/api/v1/keys/${slave}/status`;
export const encPath = (slave: string, query = ''): string => `/api/v1/keys/${slave}/enc_keys${query}`;
export const decPath = (master: string, query = ''): string => `/api/v1/keys/${master}/dec_keys${query}`;
export const keyIdsBody = (ids: readonly string[]): unknown => ({ key_IDs: ids.map((key_ID) => ({ key_ID })) });

export const ETSI_ROUTE = /^\/api\/v1\/keys\/[^/?]+\/(status|enc_keys|dec_keys)(?:\?.*)?$/;

/** The wire kind an answer must have: Status or KeyContainer for a 200 of an ETSI route, Error for any error. */
export function wireKind(path: string, status: number): 'Status' | 'KeyContainer' | 'Error' | null {
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

export function wrap(client: KmeClient): World {
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

export function expectError(response: KmeResponse, status: number, message?: string): ErrorBody {
  expect(response.status, response.text).toBe(status);
  const body = errorSchema.parse(response.body);
  if (message !== undefined) expect(body.message).toBe(message);
  return body;
}

export function keysOf(response: KmeResponse, count?: number): Key[] {
  expect(response.status, response.text).toBe(200);
  const { keys } = keyContainerSchema.parse(response.body);
  if (count !== undefined) expect(keys).toHaveLength(count);
  return keys;
}

export async function statusOf(w: World, kme: KmeName, as: string, slave: string): Promise<Status> {
  const response = await w.call(kme, as, 'GET', statusPath(slave));
  expect(response.status, response.text).toBe(200);
  return statusSchema.parse(response.body);
}

export const stored = async (w: World, pair: Pair = MAIN): Promise<number> => (await statusOf(w, pair.masterKme, pair.master, pair.slave)).stored_key_count;
export const enc = (w: World, body?: unknown, pair: Pair = MAIN): Promise<KmeResponse> => w.call(pair.masterKme, pair.master, 'POST', encPath(pair.slave), body);
export const encGet = (w: World, query: string, pair: Pair = MAIN): Promise<KmeResponse> => w.call(pair.masterKme, pair.master, 'GET', encPath(pair.slave, query));
export const deliver = async (w: World, request: Record<string, unknown> = {}, pair: Pair = MAIN): Promise<Key[]> => keysOf(await enc(w, request, pair), (request['number'] as number | undefined) ?? 1);
export const dec = (w: World, ids: readonly string[], pair: Pair = MAIN, as = pair.slave, kme = pair.slaveKme): Promise<KmeResponse> => w.call(kme, as, 'POST', decPath(pair.master), keyIdsBody(ids));

/** Takes keys out of the pair's pool until exactly `leave` are stored. */
export async function drainTo(w: World, leave: number, pair: Pair = MAIN): Promise<void> {
  const status = await statusOf(w, pair.masterKme, pair.master, pair.slave);
  for (let left = status.stored_key_count; left > leave; ) {
    const number = Math.min(status.max_key_per_request, left - leave);
    // The slave retrieves what is drained, as a client using the keys would: keys waiting for their slave
    // are bounded (503 past the bound), and a drain measures the pool, not that bound.
    const ids = keysOf(await enc(w, { number }, pair), number).map((key) => key.key_ID);
    keysOf(await dec(w, ids, pair), number);
    left -= number;
  }
  expect(await stored(w, pair)).toBe(leave);
}

export function bytesOf(key: Key): Buffer {
  expect(key.key).toMatch(PADDED_BASE64);
  return Buffer.from(key.key, 'base64');
}
