// The answer a conforming KME owes each request, judged from ETSI014.md and the profile alone: the order
// of checks (identity, format, caller, slave, values, availability) and which of them give 400, 401 or 503.
// Kept apart from the server's code, so a disagreement between the two is a finding.
import { parse as parseQuery } from 'node:querystring';
import { isCanonicalUuid, isSequentialKeyId } from '../../../src/model/keyIds.js';
import { MIN_TTL_EXTENSION, type Profile } from '../../../src/model/profiles.js';
import type { FuzzLedger } from './fuzzLedger.js';

/** `format`: refused before the caller is looked up; `value`: refused by the core after the slave is known. */
export type Verdict = 'format' | 'value' | 'ok';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const has = (object: Record<string, unknown>, name: string): boolean => Object.prototype.hasOwnProperty.call(object, name);
const isInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);

function judgeCount(profile: Profile, number: number): boolean {
  return number >= 1 && number <= profile.maxKeysPerRequest;
}

function judgeSize(profile: Profile, size: number): boolean {
  return size % 8 === 0 && size >= profile.minKeySizeBits && size <= profile.maxKeySizeBits;
}

/** A Get key request body (already parsed JSON) against the Key request format and the profile. */
export function judgeKeyRequest(profile: Profile, body: unknown): Verdict {
  if (!isObject(body)) return 'format';
  const number = has(body, 'number') ? body['number'] : undefined;
  const size = has(body, 'size') ? body['size'] : undefined;
  const additional = has(body, 'additional_slave_SAE_IDs') ? body['additional_slave_SAE_IDs'] : undefined;
  const extensions = (name: string): unknown => (has(body, name) ? body[name] : undefined);
  if (number !== undefined && !isInteger(number)) return 'format';
  if (size !== undefined && !isInteger(size)) return 'format';
  if (additional !== undefined && !(Array.isArray(additional) && additional.every((id) => typeof id === 'string'))) return 'format';
  for (const name of ['extension_mandatory', 'extension_optional']) {
    const list = extensions(name);
    if (list !== undefined && !(Array.isArray(list) && list.every(isObject))) return 'format';
  }
  if (number !== undefined && !judgeCount(profile, number)) return 'value';
  if (size !== undefined && !judgeSize(profile, size)) return 'value';
  if (Array.isArray(additional) && additional.length > profile.maxSaeIdCount) return 'value';
  if (Array.isArray(additional) && additional.length > 0) throw new Error('judgeKeyRequest: multicast profiles are not modelled');
  const mandatory = extensions('extension_mandatory');
  for (const extension of Array.isArray(mandatory) ? (mandatory as Array<Record<string, unknown>>) : []) {
    for (const [name, value] of Object.entries(extension)) {
      if (name !== MIN_TTL_EXTENSION || !profile.supportedMandatoryExtensions.includes(name)) return 'value';
      if (!(isInteger(value) && value >= 0 && value <= profile.keyTtlMs)) return 'value';
    }
  }
  return 'ok';
}

/** GET enc_keys: only `number` and `size`, each at most once, written as integers. */
export function judgeEncQuery(profile: Profile, query: string): Verdict {
  const parsed = parseQuery(query);
  const request: Record<string, number> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (name !== 'number' && name !== 'size') return 'format';
    if (typeof value !== 'string' || !/^-?\d{1,15}$/.test(value)) return 'format';
    request[name] = Number(value);
  }
  return judgeKeyRequest(profile, request);
}

/** GET dec_keys: exactly one `key_ID`, nothing else. Returns the ID or null when the query is refused. */
export function keyIdFromQuery(query: string): string | null {
  const parsed = parseQuery(query);
  const names = Object.keys(parsed);
  const value = parsed['key_ID'];
  return names.length === 1 && typeof value === 'string' ? value : null;
}

/** A Key IDs body (parsed JSON): the IDs when its format is right, else null. */
export function keyIdsOf(body: unknown): string[] | null {
  if (!isObject(body)) return null;
  const list = has(body, 'key_IDs') ? body['key_IDs'] : undefined;
  if (!Array.isArray(list) || list.length === 0) return null;
  if (has(body, 'key_IDs_extension') && !isObject(body['key_IDs_extension'])) return null;
  const ids: string[] = [];
  for (const entry of list) {
    if (!isObject(entry) || typeof entry['key_ID'] !== 'string') return null;
    if (has(entry, 'key_ID_extension') && !isObject(entry['key_ID_extension'])) return null;
    ids.push(entry['key_ID']);
  }
  return ids;
}

/** Status, or Get key once its format passed: caller on this KME (401), then a known slave (400). */
export function judgeCallerAndSlave(ledger: FuzzLedger, kmeId: string, caller: string, slave: string): 200 | 400 | 401 {
  if (ledger.saes.get(caller) !== kmeId) return 401;
  return ledger.saes.has(slave) ? 200 : 400;
}

/** Get key with key IDs once the format passed (C35 to C39). */
export function judgeDecKeys(ledger: FuzzLedger, profile: Profile, kmeId: string, caller: string, master: string, ids: readonly string[]): 200 | 400 | 401 {
  if (!ledger.saes.has(caller)) return 401;
  const wellFormed = profile.keyIdFormat === 'uuid' ? isCanonicalUuid : isSequentialKeyId;
  if (ids.length === 0 || !ids.every(wellFormed) || new Set(ids).size !== ids.length) return 400;
  let forbidden = false;
  let notFound = false;
  for (const id of ids) {
    const key = ledger.key(id);
    if (key === undefined || key.master !== master || (key.masterKme !== kmeId && key.slaveKme !== kmeId)) notFound = true;
    else if (key.slave !== caller) forbidden = true;
  }
  return forbidden ? 401 : notFound ? 400 : 200;
}

export const RESERVED_NAMES: readonly string[] = ['register', 'pools', 'km'];

/** The per-user-pool register body: the SAE ID it registers, or the status it must be refused with. */
export function judgeRegister(ledger: FuzzLedger, profile: Profile, kmeId: string, body: unknown): { readonly saeId: string } | { readonly refused: 400 } {
  if (!isObject(body)) return { refused: 400 };
  const saeId = body['sae_id'];
  // The rule of --sae: 1 to 64 of letters, digits, '.', '_', ':', '~', '-', a letter or digit first.
  if (typeof saeId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:~-]{0,63}$/.test(saeId)) return { refused: 400 };
  for (const name of ['user_email', 'display_name']) {
    const value = has(body, name) ? body[name] : undefined;
    if (value !== undefined && !(typeof value === 'string' && value.length <= 256)) return { refused: 400 };
  }
  const size = has(body, 'initial_pool_size') ? body['initial_pool_size'] : undefined;
  if (size !== undefined && !(isInteger(size) && size >= 1 && size <= 1_000_000)) return { refused: 400 };
  if (RESERVED_NAMES.includes(saeId) || ledger.saes.has(saeId)) return { refused: 400 };
  // Sequential key IDs carry their pool's owner name: a name that would give two pools one owner is refused (C19).
  if (profile.keyIdFormat === 'sequential' && ledger.takesKeyIdOwner(saeId, kmeId)) return { refused: 400 };
  return { saeId };
}
