// The shared ground of the conformance phase: the checklist items it judges, the run it keeps, the
// verdict helpers and the judged ways of sending enc_keys and dec_keys.
import { z } from 'zod';
import { CHECKLIST, type ChecklistItem } from '../checklist.js';
import { errorSchema, keySchema, SPEC_ERROR, statusSchema } from '../../model/wireSchema.js';
import type { ConformanceResult } from '../checkReport.js';
import type { CheckSession, TranscriptEntry } from '../checkSession.js';
import { toTranscriptLine } from '../renderCurl.js';
import type { TargetSae } from '../targetSchema.js';

export type Verdict = ConformanceResult['verdict'];

export interface Case {
  readonly verdict: Verdict;
  readonly note: string;
  readonly entries: readonly TranscriptEntry[];
}

/** The items the checker judges (src/check/checklist.ts). */
export type Item = ChecklistItem;

/** Ids no real deployment uses, so a KME that knows SAEs beyond the target file still does not know these. */
export const UNKNOWN_SAE = 'kmesim-unknown-sae-c15';
export const UNKNOWN_KEY_UUID = '6b6d6573-696d-4000-8000-00000000c036';
/** The drain's budget in requests: status and enc_keys alternate, so at most 20 rounds. */
export const DRAIN_REQUESTS_MAX = 40;
/** Key material one drain request may ask for, so a target with huge keys is not asked for megabytes. */
export const DRAIN_BYTES_MAX = 1 << 20;
/** Larger than any TTL (about 31,700 years), so kmesim's min-TTL extension cannot be met. */
export const UNMEETABLE_MIN_TTL_MS = 10 ** 15;

export interface Roles {
  readonly master: string;
  readonly slave: string;
  /** Not master or slave; on the slave's KME when one is. */
  readonly third: string | null;
  /** Not master or slave and on the slave's KME (a multicast slave must reach the key there). */
  readonly peer: string | null;
}

/**
 * What the first usable status said. Only key_size is needed for a usable status; a limit that was
 * missing or mistyped is undefined, and only the items that need it are skipped.
 */
export interface Params {
  readonly keySize: number;
  readonly minKeySize: number | undefined;
  readonly maxKeySize: number | undefined;
  readonly maxKeyPerRequest: number | undefined;
  readonly maxSaeIdCount: number | undefined;
}

export interface IssuedKey {
  readonly keyId: string;
  readonly material: string;
}

export interface Run {
  readonly session: CheckSession;
  readonly roles: Roles;
  /** Canonical UUIDs are judged only where the claimed profile promises them. */
  readonly uuidIds: boolean;
  readonly consumes: boolean;
  /** How long the target declares it answers a repeated dec_keys idempotently (0: repeats are refused). */
  readonly repeatGraceMs: number;
  readonly notFound: { readonly status: number; readonly message: string };
  params: Params | null;
  /** Status fields that were missing or had the wrong JSON type in some answer (C9 says which). */
  readonly statusFields: Set<string>;
  readonly cases: Map<Item, Case[]>;
  readonly encs: Array<{ readonly entry: TranscriptEntry; readonly sizeBits: number | undefined }>;
  readonly decs: TranscriptEntry[];
  readonly sizeOfKey: Map<string, number>;
  /** Answers that had the right status where the spec fixes the message (C43 judges the message). */
  readonly specStrings: Array<{ readonly item: Item; readonly expected: string; readonly entry: TranscriptEntry }>;
  /** master→slave status answers (C9, C12 judge every one). */
  readonly statuses: TranscriptEntry[];
}

export function chooseRoles(session: CheckSession): Roles {
  const saes = session.target.saes;
  // A master and a slave on different KMEs when there are two: enc on one, dec on the other.
  const master = saes.find((sae) => saes.some((other) => other.kme !== sae.kme)) ?? (saes[0] as TargetSae);
  const slave = saes.find((sae) => sae.kme !== master.kme) ?? (saes.find((sae) => sae.id !== master.id) as TargetSae);
  const others = saes.filter((sae) => sae.id !== master.id && sae.id !== slave.id);
  const peer = others.find((sae) => sae.kme === slave.kme)?.id ?? null;
  return { master: master.id, slave: slave.id, third: peer ?? others[0]?.id ?? null, peer };
}

export function add(run: Run, item: Item, ...cases: Case[]): void {
  const list = run.cases.get(item) ?? [];
  list.push(...cases);
  run.cases.set(item, list);
}

export const passed = (note: string, ...entries: TranscriptEntry[]): Case => ({ verdict: 'pass', note, entries });
export const failed = (note: string, ...entries: TranscriptEntry[]): Case => ({ verdict: 'fail', note, entries });
export const skipped = (note: string, ...entries: TranscriptEntry[]): Case => ({ verdict: 'skip', note, entries });

/**
 * A slave's dec_keys of a key it already retrieved (C37): a refusal passes; a delivery fails, unless the
 * target declares a repeat grace, within which its slave may get the key again (the history checker
 * judges that the bytes are the same).
 */
export function reread(run: Run, entry: TranscriptEntry, what: string, again: string): Case {
  if (entry.response.status !== 200) return passed(`${what}: ${entry.response.status}`, entry);
  if (run.repeatGraceMs > 0) return passed(`${what} within the declared repeat grace (${run.repeatGraceMs} ms): answered again to its slave`, entry);
  return failed(again, entry);
}

/** Any failed case fails the item; otherwise any passed case passes it (naming what was not judged). */
export function conclude(item: Item, cases: readonly Case[]): ConformanceResult {
  const fails = cases.filter((c) => c.verdict === 'fail');
  const passes = cases.filter((c) => c.verdict === 'pass');
  const skips = cases.filter((c) => c.verdict === 'skip');
  const verdict: Verdict = fails.length > 0 ? 'fail' : passes.length > 0 ? 'pass' : 'skip';
  const shown = verdict === 'fail' ? fails : verdict === 'pass' ? passes : skips;
  let detail = shown.map((c) => c.note).join('; ') || 'no exchange could judge it';
  if (verdict === 'pass' && skips.length > 0) detail += ` (not judged: ${skips.map((c) => c.note).join('; ')})`;
  const entries = [...new Map(shown.flatMap((c) => c.entries).map((entry) => [entry.id, entry])).values()].sort((a, b) => a.id - b.id);
  return { item, title: CHECKLIST[item].title, verdict, detail: oneLine(detail, 400), transcript: entries.slice(0, 8).map(toTranscriptLine) };
}

export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

export function describe(entry: TranscriptEntry): string {
  const { response } = entry;
  if (response.failure !== undefined) return `no answer (${response.failure})`;
  return response.text.length === 0 ? `${response.status} with an empty body` : `${response.status} ${oneLine(entry.shown, 100)}`;
}

export const errorMessageSchema = errorSchema.pick({ message: true });
export function messageOf(entry: TranscriptEntry): string | undefined {
  return errorMessageSchema.safeParse(entry.response.json).data?.message;
}

export const containerSchema = z.object({ keys: z.array(keySchema.pick({ key_ID: true, key: true })) });
/** The keys of a 200 key container, or null when the answer is not one. */
export function keysOf(entry: TranscriptEntry): IssuedKey[] | null {
  if (entry.response.status !== 200) return null;
  const parsed = containerSchema.safeParse(entry.response.json);
  return parsed.success ? parsed.data.keys.map((key) => ({ keyId: key.key_ID, material: key.key })) : null;
}

export const SPEC_STRINGS: ReadonlySet<string> = new Set(Object.values(SPEC_ERROR));

export const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export function bitsOf(material: string): number | null {
  return PADDED_BASE64.test(material) ? Buffer.from(material, 'base64').length * 8 : null;
}

export function sameBytes(a: string, b: string): boolean {
  return Buffer.from(a, 'base64').equals(Buffer.from(b, 'base64'));
}

export interface Wanted {
  readonly status: number;
  readonly message?: string;
  readonly allow503?: boolean;
}

/**
 * An expected refusal. A 503 is `skip` where the target may look at its pool before validating. Several
 * answers may be acceptable (a compat profile's own not-found answer besides the spec's).
 */
export function refusal(run: Run, item: Item, label: string, entry: TranscriptEntry, acceptable: Wanted | readonly Wanted[]): Case {
  const options: readonly Wanted[] = Array.isArray(acceptable) ? acceptable : [acceptable as Wanted];
  const { status, failure } = entry.response;
  const message = messageOf(entry);
  const wanted = options.find((o) => o.status === status && (o.message === undefined || o.message === message)) ?? options.find((o) => o.status === status) ?? (options[0] as Wanted);
  if (failure !== undefined) return skipped(`${label}: ${describe(entry)}`, entry);
  if (status === wanted.status) {
    if (wanted.message === undefined) return passed(`${label}: ${status}`, entry);
    if (SPEC_STRINGS.has(wanted.message)) run.specStrings.push({ item, expected: wanted.message, entry });
    return message === wanted.message ? passed(`${label}: ${status} "${message}"`, entry) : failed(`${label}: ${status} with message ${JSON.stringify(message ?? null)}, expected "${wanted.message}"`, entry);
  }
  if (status === 503 && wanted.allow503 === true) return skipped(`${label}: 503 (the target may check its pool before validating)`, entry);
  const expected = options.map((o) => `${o.status}${o.message === undefined ? '' : ` "${o.message}"`}`).join(' or ');
  return failed(`${label}: answered ${describe(entry)}, expected ${expected}`, entry);
}

export async function encOf(run: Run, request: { number?: number; size?: number; additional?: readonly string[] }, method: 'GET' | 'POST' = 'POST'): Promise<{ entry: TranscriptEntry; keys: IssuedKey[] | null }> {
  const entry = await run.session.enc(run.roles.master, run.roles.slave, request, method);
  return recordEnc(run, entry, request.size ?? run.params?.keySize);
}

export function recordEnc(run: Run, entry: TranscriptEntry, sizeBits: number | undefined): { entry: TranscriptEntry; keys: IssuedKey[] | null } {
  run.encs.push({ entry, sizeBits });
  const keys = keysOf(entry);
  if (sizeBits !== undefined) for (const key of keys ?? []) run.sizeOfKey.set(key.keyId, sizeBits);
  return { entry, keys };
}

/** enc_keys with a body the session cannot build (none, or extensions); judged here, not by the history checker. */
export async function rawEnc(run: Run, body: string | undefined, sizeBits: number | undefined): Promise<{ entry: TranscriptEntry; keys: IssuedKey[] | null }> {
  const { session, roles } = run;
  const master = session.sae(roles.master);
  const entry = await session.send({ kmeUrl: session.kmeUrl(master.kme), sae: master, method: 'POST', path: `/api/v1/keys/${encodeURIComponent(roles.slave)}/enc_keys`, ...(body === undefined ? {} : { body }) });
  return recordEnc(run, entry, sizeBits);
}

export async function decOf(run: Run, caller: string, keyIds: readonly string[], options: { kme?: string; method?: 'GET' | 'POST'; master?: string } = {}): Promise<TranscriptEntry> {
  const entry = await run.session.dec(caller, options.master ?? run.roles.master, keyIds, {
    ...(options.kme === undefined ? {} : { kme: options.kme }),
    ...(options.method === undefined ? {} : { method: options.method }),
  });
  run.decs.push(entry);
  return entry;
}

/** Judges a delivery of n keys of the given size (undefined: size not known). */
export function delivery(label: string, entry: TranscriptEntry, keys: IssuedKey[] | null, count: number, sizeBits: number | undefined): Case {
  const { status, failure } = entry.response;
  if (failure !== undefined || status === 503) return skipped(`${label}: ${describe(entry)}`, entry);
  if (status !== 200) return failed(`${label}: answered ${describe(entry)}`, entry);
  if (keys === null) return failed(`${label}: 200 without a key container`, entry);
  if (keys.length !== count) return failed(`${label}: ${keys.length} keys where ${count} were asked for`, entry);
  const wrong = sizeBits === undefined ? undefined : keys.find((key) => bitsOf(key.material) !== sizeBits);
  if (wrong !== undefined) return failed(`${label}: key ${wrong.keyId} has ${bitsOf(wrong.material) ?? 'undecodable'} bits where ${sizeBits} were asked for`, entry);
  return passed(`${label}: ${count} key${count === 1 ? '' : 's'}${sizeBits === undefined ? '' : ` of ${sizeBits} bits`}`, entry);
}

/**
 * Judges a delivery as `delivery` does, except that a 4xx refusal of a well-formed request is first held
 * against the pool: when status then shows fewer keys than were asked for, the KME was out of keys, and
 * the spec names no status for that (400 with a free text is common), so the case is skipped.
 */
export async function deliveryOf(run: Run, label: string, entry: TranscriptEntry, keys: IssuedKey[] | null, count: number, sizeBits: number | undefined, again?: () => Promise<{ entry: TranscriptEntry; keys: IssuedKey[] | null }>): Promise<Case> {
  const judged = delivery(label, entry, keys, count, sizeBits);
  const { status } = entry.response;
  if (judged.verdict !== 'fail' || status < 400 || status >= 500) return judged;
  const now = await run.session.status(run.roles.master, run.roles.slave);
  run.statuses.push(now);
  const stored = readStatus(now.response.json).fields.stored_key_count;
  if (now.response.status !== 200 || stored === undefined) return judged;
  if (stored < count) return skipped(`${label}: ${describe(entry)}, and status then showed ${stored} keys: out of keys (the spec names no status for it)`, entry, now);
  // The pool may have refilled since the refusal: the same request once more, now that status promises enough.
  if (again === undefined) return judged;
  const retry = await again();
  const second = delivery(`${label} (again, after status showed ${stored} keys)`, retry.entry, retry.keys, count, sizeBits);
  return second.verdict === 'pass' ? second : { ...second, entries: [entry, now, ...second.entries] };
}

/**
 * An expected refusal of an enc_keys with a fixed message (`refusal`), except that a 400 with another
 * message is first held against the pool: a KME out of keys may say so before it looks at the request.
 */
export async function encRefusalOf(run: Run, item: Item, label: string, entry: TranscriptEntry, wanted: Wanted, again?: () => Promise<TranscriptEntry>, judge: (entry: TranscriptEntry) => Case = (answer) => refusal(run, item, label, answer, wanted)): Promise<Case> {
  const judged = judge(entry);
  if (judged.verdict !== 'fail' || entry.response.status !== 400) return judged;
  const now = await run.session.status(run.roles.master, run.roles.slave);
  run.statuses.push(now);
  const stored = readStatus(now.response.json).fields.stored_key_count;
  if (now.response.status !== 200 || stored === undefined) return judged;
  const unjudge = (answer: TranscriptEntry): void => {
    const spec = run.specStrings.findIndex((judgedString) => judgedString.entry === answer);
    if (spec >= 0) run.specStrings.splice(spec, 1);
  };
  if (stored === 0) {
    unjudge(entry);
    return skipped(`${label}: ${describe(entry)}, and status then showed 0 keys: out of keys, so the request itself was not judged`, entry, now);
  }
  // The pool may have refilled since: the same request once more, judged on its own answer.
  if (again === undefined) return judged;
  unjudge(entry);
  const retry = await again();
  const second = judge(retry);
  return { ...second, note: `${second.note} (asked again after a 400 "${messageOf(entry) ?? ''}" and a status showing ${stored} keys)`, entries: [entry, now, ...second.entries] };
}

/** Judges a dec_keys answer: exactly these keys, in any order, each with the bytes its master got. */
export function retrieval(label: string, entry: TranscriptEntry, expected: readonly IssuedKey[]): Case {
  const { status, failure } = entry.response;
  if (failure !== undefined || status === 503) return skipped(`${label}: ${describe(entry)}`, entry);
  if (status !== 200) return failed(`${label}: answered ${describe(entry)}`, entry);
  const keys = keysOf(entry);
  if (keys === null) return failed(`${label}: 200 without a key container`, entry);
  const ids = keys.map((key) => key.keyId);
  const wanted = expected.map((key) => key.keyId);
  // The spec fixes no order for the keys of an answer: the same IDs in any order are right.
  if (JSON.stringify([...ids].sort()) !== JSON.stringify([...wanted].sort())) return failed(`${label}: returned ${JSON.stringify(ids)} for ${JSON.stringify(wanted)}`, entry);
  const material = new Map(expected.map((key) => [key.keyId, key.material]));
  const differs = keys.find((key) => !sameBytes(key.material, material.get(key.keyId) ?? ''));
  if (differs !== undefined) return failed(`${label}: key ${differs.keyId} came with other bytes than its master got`, entry);
  const order = JSON.stringify(ids) === JSON.stringify(wanted) ? '' : ' (in another order than asked: the spec fixes none)';
  return passed(`${label}: identical${order}`, entry);
}

export const mandatoryStatus = statusSchema.omit({ status_extension: true });

type StatusFields = z.output<typeof mandatoryStatus>;

/**
 * A status answer field by field: each mandatory item that has its JSON type, and the names of those that
 * are missing or mistyped. One wrong field does not hide the others.
 */
export function readStatus(json: unknown): { readonly fields: Partial<StatusFields>; readonly wrong: readonly string[] } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { fields: {}, wrong: Object.keys(mandatoryStatus.shape) };
  const object = json as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  const wrong: string[] = [];
  for (const [name, schema] of Object.entries(mandatoryStatus.shape)) {
    const parsed = (schema as z.ZodType).safeParse(object[name]);
    if (parsed.success) fields[name] = parsed.data;
    else wrong.push(name);
  }
  return { fields: fields as Partial<StatusFields>, wrong };
}
