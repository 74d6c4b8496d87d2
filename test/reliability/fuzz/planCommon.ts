// What planning a fuzz step shares: the plan type, picking SAEs and issued keys by index, building the
// common requests, and the checks a successful answer must pass (which also keep the ledger up to date).
import type { Profile } from '../../../src/model/profiles.js';
import { keyContainerSchema, statusSchema } from '../../../src/model/wireSchema.js';
import { isHeaderSafe, type FuzzLedger, type IssuedKey } from './fuzzLedger.js';
import type { RawRequest } from './sendRaw.js';

export const SAE_HEADER = 'X-SAE-ID';
/** Node's default limit on a request's line and headers; a head beyond it is answered 431. */
export const HEAD_LIMIT_BYTES = 16_384;
/** express.json's limit in createApp (256 KiB); a larger body is answered 413. */
export const BODY_LIMIT_BYTES = 262_144;

export interface Plan {
  /** The step's family and variant, for the histograms. */
  readonly label: string;
  readonly request: RawRequest;
  /** Every status a conforming server may answer. */
  readonly expect: readonly number[];
  /** A 2xx that must leave the world unchanged too (reads). */
  readonly readOnly?: boolean;
  /** Checks a 2xx body and records what it did in the ledger; returns a problem or null. */
  readonly onOk?: (body: unknown) => string | null;
}

export interface PlanContext {
  readonly profile: Profile;
  readonly ledger: FuzzLedger;
  /** The pair most valid enc_keys steps hit, so its pool drains and exhausts. */
  readonly hot: { readonly master: string; readonly slave: string };
}

export interface Sae {
  readonly id: string;
  readonly kmeId: string;
  readonly kme: number;
}

export interface KeyGroup {
  readonly master: string;
  readonly slave: Sae;
  readonly ids: readonly string[];
}

/** A caller, a slave and (for dec_keys) issued keys: what most hostile steps start from. */
export interface Scene {
  readonly master: Sae;
  readonly slave: Sae;
  /** Keys the slave may retrieve from `group.master` (or a made-up ID when nothing is issued). */
  readonly group: KeyGroup;
}

export function kmeIndex(ctx: PlanContext, kmeId: string): number {
  const index = ctx.ledger.kmeIds.indexOf(kmeId);
  if (index < 0) throw new Error(`no KME ${kmeId}`);
  return index;
}

export function saeOf(ctx: PlanContext, id: string): Sae | undefined {
  const kmeId = ctx.ledger.saes.get(id);
  return kmeId === undefined ? undefined : { id, kmeId, kme: kmeIndex(ctx, kmeId) };
}

/** Live SAEs that can name themselves in a header (callers). */
export function pickCaller(ctx: PlanContext, index: number): Sae | undefined {
  const callers = [...ctx.ledger.saes.keys()].filter(isHeaderSafe);
  const id = callers[index % Math.max(1, callers.length)];
  return id === undefined ? undefined : saeOf(ctx, id);
}

export function pickSae(ctx: PlanContext, index: number, except?: string): Sae | undefined {
  const ids = [...ctx.ledger.saes.keys()].filter((id) => id !== except);
  const id = ids[index % Math.max(1, ids.length)];
  return id === undefined ? undefined : saeOf(ctx, id);
}

/** Issued keys one slave can retrieve together: same master and slave, the slave able to call. */
export function pickKeyGroup(ctx: PlanContext, index: number, count: number): KeyGroup | undefined {
  const { ledger } = ctx;
  const total = ledger.keyCount();
  for (let attempt = 0; attempt < Math.min(total, 8); attempt++) {
    const first = ledger.keyAt((index + attempt * 7919) % total);
    const slave = saeOf(ctx, first.slave);
    if (slave === undefined || !isHeaderSafe(first.slave)) continue;
    const ids = [first.keyId];
    for (let at = 0; at < total && ids.length < count; at++) {
      const key = ledger.keyAt(at);
      if (key.keyId !== first.keyId && key.master === first.master && key.slave === first.slave) ids.push(key.keyId);
    }
    return { master: first.master, slave, ids };
  }
  return undefined;
}

export function sceneOf(ctx: PlanContext, m: number, s: number, k: number, groupSize = 4): Scene | undefined {
  const master = pickCaller(ctx, m);
  const slave = pickSae(ctx, s);
  if (master === undefined || slave === undefined) return undefined;
  const group = pickKeyGroup(ctx, k, groupSize) ?? { master: master.id, slave: master, ids: [unknownKeyId(ctx, k)] };
  return { master, slave, group };
}

/** What a step plans when the world has nothing for it (no SAE left to call): a read of /health. */
export function healthPlan(label: string): Plan {
  return { label, request: { kme: 0, method: 'GET', path: '/health', headers: {} }, expect: [200], readOnly: true };
}

/** A well-formed key ID (for the profile) that no KME issued. */
export function unknownKeyId(ctx: PlanContext, n: number): string {
  return ctx.profile.keyIdFormat === 'uuid' ? `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` : `qk_fuzz-nobody_${String(n).padStart(6, '0')}`;
}

export const seg = encodeURIComponent;

export function etsiPath(route: 'status' | 'enc' | 'dec', saeSegment: string): string {
  return `/api/v1/keys/${saeSegment}/${route === 'status' ? 'status' : route === 'enc' ? 'enc_keys' : 'dec_keys'}`;
}

export function jsonHeaders(caller: string | null): Record<string, string> {
  return caller === null ? { 'Content-Type': 'application/json' } : { [SAE_HEADER]: caller, 'Content-Type': 'application/json' };
}

export function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

export function keyIdsBody(ids: readonly string[]): string {
  return JSON.stringify({ key_IDs: ids.map((key_ID) => ({ key_ID })) });
}

/** Inside a JSON string literal. */
export function jsonInner(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** Each character a client may not send raw in a request target, percent-encoded. */
export function sanitizeTarget(target: string): string {
  return target.replace(/[^\x21-\x7e]|#/gu, (char) => encodeURIComponent(char));
}

/** Status answers: the eleven items, master = caller, slave = path, source = this KME (C9 to C12). */
export function checkStatus(caller: string, slave: string, kmeId: string): (body: unknown) => string | null {
  return (body) => {
    const parsed = statusSchema.safeParse(body);
    if (!parsed.success) return `status body does not match the Status schema: ${parsed.error.message}`;
    const status = parsed.data;
    if (status.master_SAE_ID !== caller || status.slave_SAE_ID !== slave || status.source_KME_ID !== kmeId) return 'status names the wrong SAEs or KME';
    if (status.stored_key_count > status.max_key_count || status.stored_key_count < 0) return 'stored_key_count outside [0, max_key_count]';
    return null;
  };
}

/** Get key answers: n keys of the size asked, never seen before (I1); recorded as waiting for the slave. */
export function recordDelivery(ctx: PlanContext, master: Sae, slave: Sae, count: number, sizeBits: number): (body: unknown) => string | null {
  return (body) => {
    const parsed = keyContainerSchema.safeParse(body);
    if (!parsed.success) return `enc_keys body does not match the Key container schema: ${parsed.error.message}`;
    const { keys } = parsed.data;
    if (keys.length !== count) return `enc_keys delivered ${keys.length} keys, ${count} were asked for`;
    for (const key of keys) {
      if (Buffer.from(key.key, 'base64').length * 8 !== sizeBits) return `key ${key.key_ID} is not ${sizeBits} bits`;
      try {
        ctx.ledger.addKey({ keyId: key.key_ID, master: master.id, slave: slave.id, masterKme: master.kmeId, slaveKme: slave.kmeId });
      } catch (error) {
        return (error as Error).message;
      }
    }
    return null;
  };
}

/** Get key with key IDs answers: exactly the IDs asked for, in order (C34); no longer retrievable. */
export function recordRetrieval(ctx: PlanContext, ids: readonly string[]): (body: unknown) => string | null {
  return (body) => {
    const parsed = keyContainerSchema.safeParse(body);
    if (!parsed.success) return `dec_keys body does not match the Key container schema: ${parsed.error.message}`;
    const got = parsed.data.keys.map((key) => key.key_ID);
    if (got.join('\n') !== ids.join('\n')) return `dec_keys returned [${got.slice(0, 4).join(', ')}…], asked for [${ids.slice(0, 4).join(', ')}…]`;
    for (const id of ids) ctx.ledger.removeKey(id);
    return null;
  };
}

export function isIssued(key: IssuedKey | undefined): key is IssuedKey {
  return key !== undefined;
}

/** A JSON object text from members, with `$PLACEHOLDER`s filled by `fill` (called once per occurrence). */
export function objectText(members: ReadonlyArray<readonly [string, string]>, fill: (name: string) => string): string {
  return `{${members.map(([name, value]) => `${JSON.stringify(name)}:${value.replace(/\$[A-Z_]+/g, (placeholder) => fill(placeholder))}`).join(',')}}`;
}

/**
 * JSON.parse as the server's body parser sees it (UTF-8 decoded, a leading BOM dropped, strict: only an
 * object or array at the top), or undefined when it refuses the text.
 */
export function parseLikeServer(text: string): { readonly value: unknown } | undefined {
  const decoded = Buffer.from(text, 'utf8').toString('utf8').replace(/^\ufeff/, '');
  if (!/^[\x20\x09\x0a\x0d]*[{[]/.test(decoded)) return undefined;
  try {
    return { value: JSON.parse(decoded) as unknown };
  } catch {
    return undefined;
  }
}
