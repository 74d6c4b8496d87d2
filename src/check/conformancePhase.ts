// Phase 1 of a check: conformance. Drives the target through every item of the ETSI014.md checklist that
// black-box traffic can show and judges each one pass, fail or skip, with the exchanges that show it.
// The target was written by someone else, so a check fails only on what the specification (or one of our
// documented strict choices, docs/decisions/0004) fixes, and tolerates what it leaves open: refills between
// calls, validation order, which KME of a link answers a re-read. Every enc_keys and dec_keys goes through
// the session, so the invariant checkers judge this traffic too; the drain at the end leaves its keys
// delivered and unretrieved on purpose (valid keys the history checker has seen).
import { z } from 'zod';
import { isCanonicalUuid } from '../model/keyIds.js';
import { MIN_TTL_EXTENSION, PROFILES, strictProfile } from '../model/profiles.js';
import { errorSchema, keyContainerSchema, keySchema, SPEC_ERROR, statusSchema, type KeyIds, type KeyRequest } from '../model/wireSchema.js';
import type { ConformanceResult } from './checkReport.js';
import type { CheckSession, TranscriptEntry } from './checkSession.js';
import { toTranscriptLine } from './renderCurl.js';
import type { TargetSae } from './targetSchema.js';

type Verdict = ConformanceResult['verdict'];

interface Case {
  readonly verdict: Verdict;
  readonly note: string;
  readonly entries: readonly TranscriptEntry[];
}

const ITEMS = {
  C3: 'responses are application/json UTF-8',
  C4: 'SAE IDs in the path are percent-decoded',
  C9: 'status has the eleven mandatory items with the right JSON types',
  C10: 'status names the caller as master and the path SAE as slave',
  C11: "status names the KME called as source and the slave's KME as target",
  C12: 'min_key_size ≤ key_size ≤ max_key_size and stored_key_count ≤ max_key_count',
  C14: 'stored_key_count is what enc_keys can deliver',
  C15: 'an unknown slave SAE gets 400',
  C16: '{}, no body and GET without query each give one key of key_size bits',
  C17: 'number=n gives exactly n keys',
  C18: 'keys are padded standard base64 of exactly size/8 bytes',
  C19: 'key_IDs are canonical UUIDs and never repeat',
  C20: 'GET enc_keys with number and size equals the matching POST',
  C21: 'a size that is not a multiple of 8 gets 400 with spec string 1',
  C22: 'a size outside [min_key_size, max_key_size] gets 400',
  C23: 'number ≤ 0, > max_key_per_request or not an integer gets 400',
  C24: 'malformed JSON or a non-object body gets 400 with an Error body',
  C25: 'an unsupported extension_mandatory gets 400 with spec string 2',
  C26: 'a supported but unmeetable extension_mandatory gets 400 with spec string 3',
  C27: 'an unknown extension_optional gets 200 (or 400 with spec string 4)',
  C28: 'too many, duplicate, master or slave additional_slave_SAE_IDs get 400',
  C29: 'every additional slave retrieves the identical key',
  C30: 'a delivered key is never delivered by enc_keys again',
  C31: 'not enough keys gets 503 and delivers nothing',
  C33: 'the slave retrieves the identical key_ID and bytes',
  C34: 'dec_keys returns several IDs in request order; GET ?key_ID= works',
  C35: 'a caller not named as slave gets 401 and nothing is consumed',
  C36: "an unknown, consumed or other master's key ID gets 400 with spec string 5",
  C37: 'a retrieved key cannot be retrieved again',
  C38: 'a failed dec_keys consumes nothing',
  C39: 'missing, empty, non-array or non-UUID key_IDs get 400',
  C41: 'error bodies are JSON objects with a string message and object details',
  C42: 'only 200, 400, 401 and 503 are API outcomes',
  C43: "the spec's fixed error strings match exactly",
  C44: 'optional *_extension members are objects when present, never null',
} as const;
type Item = keyof typeof ITEMS;

/** Ids no real deployment uses, so a KME that knows SAEs beyond the target file still does not know these. */
const UNKNOWN_SAE = 'kmesim-unknown-sae-c15';
const UNKNOWN_KEY_UUID = '6b6d6573-696d-4000-8000-00000000c036';
/** The drain's budget in requests: status and enc_keys alternate, so at most 20 rounds. */
const DRAIN_REQUESTS_MAX = 40;
/** Key material one drain request may ask for, so a target with huge keys is not asked for megabytes. */
const DRAIN_BYTES_MAX = 1 << 20;
/** Larger than any TTL (about 31,700 years), so kmesim's min-TTL extension cannot be met. */
const UNMEETABLE_MIN_TTL_MS = 10 ** 15;

interface Roles {
  readonly master: string;
  readonly slave: string;
  /** Not master or slave; on the slave's KME when one is. */
  readonly third: string | null;
  /** Not master or slave and on the slave's KME (a multicast slave must reach the key there). */
  readonly peer: string | null;
}

interface Params {
  readonly keySize: number;
  readonly minKeySize: number;
  readonly maxKeySize: number;
  readonly maxKeyPerRequest: number;
  readonly maxSaeIdCount: number;
}

interface IssuedKey {
  readonly keyId: string;
  readonly material: string;
}

interface Run {
  readonly session: CheckSession;
  readonly roles: Roles;
  /** Canonical UUIDs are judged only where the claimed profile promises them. */
  readonly uuidIds: boolean;
  readonly consumes: boolean;
  readonly notFound: { readonly status: number; readonly message: string };
  params: Params | null;
  readonly cases: Map<Item, Case[]>;
  readonly encs: Array<{ readonly entry: TranscriptEntry; readonly sizeBits: number | undefined }>;
  readonly decs: TranscriptEntry[];
  readonly sizeOfKey: Map<string, number>;
  /** Answers that had the right status where the spec fixes the message (C43 judges the message). */
  readonly specStrings: Array<{ readonly item: Item; readonly expected: string; readonly entry: TranscriptEntry }>;
  /** master→slave status answers (C9, C12 judge every one). */
  readonly statuses: TranscriptEntry[];
}

export async function runConformancePhase(session: CheckSession): Promise<ConformanceResult[]> {
  const first = session.transcript.length;
  const { profile } = session.target;
  const known = PROFILES.get(profile) ?? strictProfile;
  const run: Run = {
    session,
    roles: chooseRoles(session),
    uuidIds: profile === 'strict',
    consumes: profile !== 'lenient',
    notFound: known.keyNotFound,
    params: null,
    cases: new Map(),
    encs: [],
    decs: [],
    sizeOfKey: new Map(),
    specStrings: [],
    statuses: [],
  };
  await checkStatus(run);
  await checkPathDecoding(run);
  await checkUnknownSlave(run);
  const issued = await checkGetKey(run);
  await checkBadRequests(run);
  await checkExtensions(run);
  await checkMulticast(run);
  await checkRetrieval(run, issued);
  await checkKeyIdLists(run);
  await checkDrain(run);
  judgeTraffic(run, session.transcript.slice(first));
  return (Object.keys(ITEMS) as Item[]).map((item) => conclude(item, run.cases.get(item) ?? []));
}

function chooseRoles(session: CheckSession): Roles {
  const saes = session.target.saes;
  // A master and a slave on different KMEs when there are two: enc on one, dec on the other.
  const master = saes.find((sae) => saes.some((other) => other.kme !== sae.kme)) ?? (saes[0] as TargetSae);
  const slave = saes.find((sae) => sae.kme !== master.kme) ?? (saes.find((sae) => sae.id !== master.id) as TargetSae);
  const others = saes.filter((sae) => sae.id !== master.id && sae.id !== slave.id);
  const peer = others.find((sae) => sae.kme === slave.kme)?.id ?? null;
  return { master: master.id, slave: slave.id, third: peer ?? others[0]?.id ?? null, peer };
}

function add(run: Run, item: Item, ...cases: Case[]): void {
  const list = run.cases.get(item) ?? [];
  list.push(...cases);
  run.cases.set(item, list);
}

const passed = (note: string, ...entries: TranscriptEntry[]): Case => ({ verdict: 'pass', note, entries });
const failed = (note: string, ...entries: TranscriptEntry[]): Case => ({ verdict: 'fail', note, entries });
const skipped = (note: string, ...entries: TranscriptEntry[]): Case => ({ verdict: 'skip', note, entries });

/** Any failed case fails the item; otherwise any passed case passes it (naming what was not judged). */
function conclude(item: Item, cases: readonly Case[]): ConformanceResult {
  const fails = cases.filter((c) => c.verdict === 'fail');
  const passes = cases.filter((c) => c.verdict === 'pass');
  const skips = cases.filter((c) => c.verdict === 'skip');
  const verdict: Verdict = fails.length > 0 ? 'fail' : passes.length > 0 ? 'pass' : 'skip';
  const shown = verdict === 'fail' ? fails : verdict === 'pass' ? passes : skips;
  let detail = shown.map((c) => c.note).join('; ') || 'no exchange could judge it';
  if (verdict === 'pass' && skips.length > 0) detail += ` (not judged: ${skips.map((c) => c.note).join('; ')})`;
  const entries = [...new Map(shown.flatMap((c) => c.entries).map((entry) => [entry.id, entry])).values()].sort((a, b) => a.id - b.id);
  return { item, title: ITEMS[item], verdict, detail: oneLine(detail, 400), transcript: entries.slice(0, 8).map(toTranscriptLine) };
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

function describe(entry: TranscriptEntry): string {
  const { response } = entry;
  if (response.failure !== undefined) return `no answer (${response.failure})`;
  return response.text.length === 0 ? `${response.status} with an empty body` : `${response.status} ${oneLine(response.text, 100)}`;
}

const errorMessageSchema = errorSchema.pick({ message: true });
function messageOf(entry: TranscriptEntry): string | undefined {
  return errorMessageSchema.safeParse(entry.response.json).data?.message;
}

const containerSchema = z.object({ keys: z.array(keySchema.pick({ key_ID: true, key: true })) });
/** The keys of a 200 key container, or null when the answer is not one. */
function keysOf(entry: TranscriptEntry): IssuedKey[] | null {
  if (entry.response.status !== 200) return null;
  const parsed = containerSchema.safeParse(entry.response.json);
  return parsed.success ? parsed.data.keys.map((key) => ({ keyId: key.key_ID, material: key.key })) : null;
}

const SPEC_STRINGS: ReadonlySet<string> = new Set(Object.values(SPEC_ERROR));

const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
function bitsOf(material: string): number | null {
  return PADDED_BASE64.test(material) ? Buffer.from(material, 'base64').length * 8 : null;
}

function sameBytes(a: string, b: string): boolean {
  return Buffer.from(a, 'base64').equals(Buffer.from(b, 'base64'));
}

interface Wanted {
  readonly status: number;
  readonly message?: string;
  readonly allow503?: boolean;
}

/**
 * An expected refusal. A 503 is `skip` where the target may look at its pool before validating. Several
 * answers may be acceptable (a compat profile's own not-found answer besides the spec's).
 */
function refusal(run: Run, item: Item, label: string, entry: TranscriptEntry, acceptable: Wanted | readonly Wanted[]): Case {
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

async function encOf(run: Run, request: { number?: number; size?: number; additional?: readonly string[] }, method: 'GET' | 'POST' = 'POST'): Promise<{ entry: TranscriptEntry; keys: IssuedKey[] | null }> {
  const entry = await run.session.enc(run.roles.master, run.roles.slave, request, method);
  return recordEnc(run, entry, request.size ?? run.params?.keySize);
}

function recordEnc(run: Run, entry: TranscriptEntry, sizeBits: number | undefined): { entry: TranscriptEntry; keys: IssuedKey[] | null } {
  run.encs.push({ entry, sizeBits });
  const keys = keysOf(entry);
  if (sizeBits !== undefined) for (const key of keys ?? []) run.sizeOfKey.set(key.keyId, sizeBits);
  return { entry, keys };
}

/** enc_keys with a body the session cannot build (none, or extensions); judged here, not by the history checker. */
async function rawEnc(run: Run, body: string | undefined, sizeBits: number | undefined): Promise<{ entry: TranscriptEntry; keys: IssuedKey[] | null }> {
  const { session, roles } = run;
  const master = session.sae(roles.master);
  const entry = await session.send({ kmeUrl: session.kmeUrl(master.kme), sae: master, method: 'POST', path: `/api/v1/keys/${encodeURIComponent(roles.slave)}/enc_keys`, ...(body === undefined ? {} : { body }) });
  return recordEnc(run, entry, sizeBits);
}

async function decOf(run: Run, caller: string, keyIds: readonly string[], options: { kme?: string; method?: 'GET' | 'POST'; master?: string } = {}): Promise<TranscriptEntry> {
  const entry = await run.session.dec(caller, options.master ?? run.roles.master, keyIds, {
    ...(options.kme === undefined ? {} : { kme: options.kme }),
    ...(options.method === undefined ? {} : { method: options.method }),
  });
  run.decs.push(entry);
  return entry;
}

/** Judges a delivery of n keys of the given size (undefined: size not known). */
function delivery(label: string, entry: TranscriptEntry, keys: IssuedKey[] | null, count: number, sizeBits: number | undefined): Case {
  const { status, failure } = entry.response;
  if (failure !== undefined || status === 503) return skipped(`${label}: ${describe(entry)}`, entry);
  if (status !== 200) return failed(`${label}: answered ${describe(entry)}`, entry);
  if (keys === null) return failed(`${label}: 200 without a key container`, entry);
  if (keys.length !== count) return failed(`${label}: ${keys.length} keys where ${count} were asked for`, entry);
  const wrong = sizeBits === undefined ? undefined : keys.find((key) => bitsOf(key.material) !== sizeBits);
  if (wrong !== undefined) return failed(`${label}: key ${wrong.keyId} has ${bitsOf(wrong.material) ?? 'undecodable'} bits where ${sizeBits} were asked for`, entry);
  return passed(`${label}: ${count} key${count === 1 ? '' : 's'}${sizeBits === undefined ? '' : ` of ${sizeBits} bits`}`, entry);
}

/** Judges a dec_keys answer: exactly these keys, in this order, with the bytes their master got. */
function retrieval(label: string, entry: TranscriptEntry, expected: readonly IssuedKey[]): Case {
  const { status, failure } = entry.response;
  if (failure !== undefined || status === 503) return skipped(`${label}: ${describe(entry)}`, entry);
  if (status !== 200) return failed(`${label}: answered ${describe(entry)}`, entry);
  const keys = keysOf(entry);
  if (keys === null) return failed(`${label}: 200 without a key container`, entry);
  const ids = keys.map((key) => key.keyId);
  const wanted = expected.map((key) => key.keyId);
  if (JSON.stringify(ids) !== JSON.stringify(wanted)) {
    const sameSet = JSON.stringify([...ids].sort()) === JSON.stringify([...wanted].sort());
    return failed(`${label}: ${sameSet ? 'the keys came in another order than requested' : `returned ${JSON.stringify(ids)} for ${JSON.stringify(wanted)}`}`, entry);
  }
  const differs = keys.find((key, i) => !sameBytes(key.material, (expected[i] as IssuedKey).material));
  if (differs !== undefined) return failed(`${label}: key ${differs.keyId} came with other bytes than its master got`, entry);
  return passed(`${label}: identical`, entry);
}

// ---- Status: C9 C10 C11 C12 ----------------------------------------------------------------------------

const mandatoryStatus = statusSchema.omit({ status_extension: true });

async function checkStatus(run: Run): Promise<void> {
  const { session, roles } = run;
  const entry = await session.status(roles.master, roles.slave);
  run.statuses.push(entry);
  const parsed = mandatoryStatus.safeParse(entry.response.json);
  if (entry.response.status !== 200 || !parsed.success) {
    const why = `status ${roles.slave} as ${roles.master} ${entry.response.status === 200 ? 'is not a Status' : `answered ${describe(entry)}`}`;
    for (const item of ['C10', 'C11', 'C12'] as const) add(run, item, skipped(`no usable status (${why})`, entry));
    return;
  }
  const status = parsed.data;
  run.params = { keySize: status.key_size, minKeySize: status.min_key_size, maxKeySize: status.max_key_size, maxKeyPerRequest: status.max_key_per_request, maxSaeIdCount: status.max_SAE_ID_count };
  add(
    run,
    'C10',
    status.master_SAE_ID === roles.master && status.slave_SAE_ID === roles.slave
      ? passed(`master_SAE_ID ${roles.master}, slave_SAE_ID ${roles.slave}`, entry)
      : failed(`master_SAE_ID ${JSON.stringify(status.master_SAE_ID)} and slave_SAE_ID ${JSON.stringify(status.slave_SAE_ID)} for caller ${roles.master} and path ${roles.slave}`, entry),
  );
  const source = session.sae(roles.master).kme;
  add(run, 'C11', status.source_KME_ID === source ? passed(`source_KME_ID ${source}`, entry) : failed(`source_KME_ID ${JSON.stringify(status.source_KME_ID)}, but the KME called is ${source}`, entry));
  // With one KME listed the slave may sit behind a peer KME the target file does not name: its ID is unknown.
  const slaveKme = session.sae(roles.slave).kme;
  if (session.target.kmes.length < 2) add(run, 'C11', skipped('target_KME_ID: the target lists one KME, so the slave’s KME cannot be known'));
  else add(run, 'C11', status.target_KME_ID === slaveKme ? passed(`target_KME_ID ${slaveKme}`, entry) : failed(`target_KME_ID ${JSON.stringify(status.target_KME_ID)}, but the slave ${roles.slave} is on ${slaveKme}`, entry));
}

// ---- C4, C15 ---------------------------------------------------------------------------------------------

function percentEncodeAll(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

async function checkPathDecoding(run: Run): Promise<void> {
  const { session, roles } = run;
  if (run.params === null) return add(run, 'C4', skipped('the plain status request gave no usable status'));
  const master = session.sae(roles.master);
  const path = `/api/v1/keys/${percentEncodeAll(roles.slave)}/status`;
  const entry = await session.send({ kmeUrl: session.kmeUrl(master.kme), sae: master, method: 'GET', path });
  const slave = mandatoryStatus.safeParse(entry.response.json).data?.slave_SAE_ID;
  add(
    run,
    'C4',
    entry.response.failure !== undefined
      ? skipped(describe(entry), entry)
      : entry.response.status === 200 && slave === roles.slave
        ? passed(`every byte of ${roles.slave} percent-encoded in the path: status for ${roles.slave}`, entry)
        : failed(`every byte of ${roles.slave} percent-encoded in the path: ${entry.response.status === 200 ? `slave_SAE_ID ${JSON.stringify(slave ?? null)}` : describe(entry)}`, entry),
  );
}

async function checkUnknownSlave(run: Run): Promise<void> {
  const { session, roles } = run;
  const status = await session.status(roles.master, UNKNOWN_SAE);
  add(run, 'C15', refusal(run, 'C15', `status for unknown slave ${UNKNOWN_SAE}`, status, { status: 400 }));
  const master = session.sae(roles.master);
  const enc = await session.send({ kmeUrl: session.kmeUrl(master.kme), sae: master, method: 'POST', path: `/api/v1/keys/${UNKNOWN_SAE}/enc_keys`, body: '{}' });
  if (keysOf(enc) !== null) run.encs.push({ entry: enc, sizeBits: run.params?.keySize });
  add(run, 'C15', refusal(run, 'C15', `enc_keys for unknown slave ${UNKNOWN_SAE}`, enc, { status: 400 }));
}

// ---- Get key: C16 C17 C20 ----------------------------------------------------------------------------------

interface Issued {
  /** Keys delivered by the forms of C16: POST {}, POST without body, GET without query. */
  readonly single: Array<IssuedKey | null>;
  readonly several: IssuedKey[];
  readonly spare: IssuedKey[];
}

function otherSize(params: Params): number {
  const candidates = [params.keySize * 2, Math.floor(params.keySize / 16) * 8, params.minKeySize, params.maxKeySize];
  return candidates.find((size) => size > 0 && size % 8 === 0 && size !== params.keySize && size >= params.minKeySize && size <= params.maxKeySize) ?? params.keySize;
}

function shapeOf(entry: TranscriptEntry, keys: IssuedKey[] | null): string {
  return keys === null ? `status ${entry.response.status}` : `${keys.length} keys of ${keys.map((key) => bitsOf(key.material) ?? '?').join('/')} bits`;
}

async function checkGetKey(run: Run): Promise<Issued> {
  const size = run.params?.keySize;
  const forms = [
    { label: 'POST {}', send: () => encOf(run, {}) },
    { label: 'POST without a body', send: () => rawEnc(run, undefined, size) },
    { label: 'GET without query', send: () => encOf(run, {}, 'GET') },
  ];
  const single: Array<IssuedKey | null> = [];
  for (const form of forms) {
    const { entry, keys } = await form.send();
    const judged = delivery(form.label, entry, keys, 1, size);
    add(run, 'C16', judged);
    single.push(judged.verdict === 'pass' ? (keys?.[0] ?? null) : null);
  }

  const several: IssuedKey[] = [];
  const spare: IssuedKey[] = [];
  if (run.params === null) {
    add(run, 'C17', skipped('max_key_per_request unknown: no usable status'));
    add(run, 'C20', skipped('key sizes unknown: no usable status'));
    return { single, several, spare };
  }
  const n = Math.min(3, run.params.maxKeyPerRequest);
  const many = await encOf(run, { number: n });
  const judged = delivery(`number=${n}`, many.entry, many.keys, n, size);
  add(run, 'C17', judged);
  if (judged.verdict === 'pass') several.push(...(many.keys ?? []));

  const m = Math.min(2, run.params.maxKeyPerRequest);
  const bits = otherSize(run.params);
  const viaGet = await encOf(run, { number: m, size: bits }, 'GET');
  const viaPost = await encOf(run, { number: m, size: bits });
  const get = delivery(`GET ?number=${m}&size=${bits}`, viaGet.entry, viaGet.keys, m, bits);
  const post = delivery(`POST {"number":${m},"size":${bits}}`, viaPost.entry, viaPost.keys, m, bits);
  if (post.verdict === 'pass') spare.push(...(viaPost.keys ?? []));
  if (get.verdict === 'pass') spare.push(...(viaGet.keys ?? []));
  if (get.verdict === 'skip' || post.verdict === 'skip') add(run, 'C20', skipped(`${get.note}; ${post.note}`, viaGet.entry, viaPost.entry));
  else if (get.verdict === 'pass' && post.verdict === 'pass') add(run, 'C20', passed(`GET and POST each gave ${m} keys of ${bits} bits`, viaGet.entry, viaPost.entry));
  else if (shapeOf(viaGet.entry, viaGet.keys) === shapeOf(viaPost.entry, viaPost.keys)) {
    // Both wrong alike: C20 holds; what is wrong is C17's and C18's to say.
    add(run, 'C20', passed(`GET and POST answered alike (${shapeOf(viaPost.entry, viaPost.keys)}), though not as asked`, viaGet.entry, viaPost.entry));
  } else add(run, 'C20', failed(`GET and POST differ: ${get.note}; ${post.note}`, viaGet.entry, viaPost.entry));
  return { single, several, spare };
}

// ---- Refused requests: C21 C22 C23 C24 -------------------------------------------------------------------

async function checkBadRequests(run: Run): Promise<void> {
  const { session, roles } = run;
  const params = run.params;
  if (params === null) {
    for (const item of ['C21', 'C22', 'C23'] as const) add(run, item, skipped('key sizes and limits unknown: no usable status'));
  } else {
    // A size in range isolates the multiple-of-8 rule; out of range, any 400 will do (either rule applies).
    const inRange = [params.keySize + 4, params.keySize - 4, params.minKeySize + 4, params.maxKeySize - 4].find((s) => s > 0 && s % 8 !== 0 && s >= params.minKeySize && s <= params.maxKeySize);
    const odd = inRange ?? params.keySize + 4;
    const oddEntry = (await encOf(run, { size: odd })).entry;
    const label = inRange === undefined ? `size=${odd} (outside the size range too, so any 400 will do)` : `size=${odd}`;
    add(run, 'C21', refusal(run, 'C21', label, oddEntry, { status: 400, ...(inRange === undefined ? {} : { message: SPEC_ERROR.sizeNotMultipleOf8 }), allow503: true }));

    const sizes = [params.maxKeySize + 8, params.minKeySize - 8].filter((s) => s >= 0 && Number.isSafeInteger(s));
    for (const s of sizes) add(run, 'C22', refusal(run, 'C22', `size=${s}`, (await encOf(run, { size: s })).entry, { status: 400, allow503: true }));

    const numbers = [0, -1, 1.5, ...(Number.isSafeInteger(params.maxKeyPerRequest + 1) ? [params.maxKeyPerRequest + 1] : [])];
    for (const number of numbers) add(run, 'C23', refusal(run, 'C23', `number=${number}`, (await encOf(run, { number })).entry, { status: 400, allow503: true }));
  }
  const master = session.sae(roles.master);
  const notANumber = await session.send({ kmeUrl: session.kmeUrl(master.kme), sae: master, method: 'GET', path: `/api/v1/keys/${encodeURIComponent(roles.slave)}/enc_keys?number=abc` });
  recordEnc(run, notANumber, run.params?.keySize);
  add(run, 'C23', refusal(run, 'C23', 'GET ?number=abc', notANumber, { status: 400, allow503: true }));

  const bodies = [
    { label: 'malformed JSON', raw: '{"number": 1' },
    { label: 'a JSON array', raw: '[1,2,3]' },
    { label: 'a JSON string', raw: '"one key please"' },
  ];
  for (const { label, raw } of bodies) {
    const { entry } = await rawEnc(run, raw, run.params?.keySize);
    const judged = refusal(run, 'C24', label, entry, { status: 400 });
    add(run, 'C24', judged.verdict === 'pass' && messageOf(entry) === undefined ? failed(`${label}: 400 without an Error body: ${describe(entry)}`, entry) : judged);
  }
}

// ---- Extensions: C25 C26 C27 -----------------------------------------------------------------------------

async function checkExtensions(run: Run): Promise<void> {
  const size = run.params?.keySize;
  const unsupported = await rawEnc(run, JSON.stringify({ extension_mandatory: [{ kmesim_unsupported_extension: true }] } satisfies KeyRequest), size);
  const c25 = refusal(run, 'C25', 'unknown extension_mandatory', unsupported.entry, { status: 400, message: SPEC_ERROR.extensionMandatoryUnsupported, allow503: true });
  add(run, 'C25', c25);

  // Only a named, supported extension can be unmeetable. kmesim supports kmesim_min_ttl_ms; a target with a
  // kmesim admin API is kmesim; any other target is probed with a meetable value (0) first.
  const unmeetable = (): Promise<{ entry: TranscriptEntry }> => rawEnc(run, JSON.stringify({ extension_mandatory: [{ [MIN_TTL_EXTENSION]: UNMEETABLE_MIN_TTL_MS }] } satisfies KeyRequest), size);
  const judgeUnmeetable = async (): Promise<void> => {
    const { entry } = await unmeetable();
    add(run, 'C26', refusal(run, 'C26', `${MIN_TTL_EXTENSION}=${UNMEETABLE_MIN_TTL_MS}`, entry, { status: 400, message: SPEC_ERROR.extensionMandatoryUnmet, allow503: true }));
  };
  if (run.session.target.admin !== undefined) {
    await judgeUnmeetable();
  } else if (c25.verdict !== 'pass') {
    add(run, 'C26', skipped('the target does not refuse unknown mandatory extensions as C25 asks, so support for one cannot be told'));
  } else {
    const probe = await rawEnc(run, JSON.stringify({ extension_mandatory: [{ [MIN_TTL_EXTENSION]: 0 }] } satisfies KeyRequest), size);
    if (probe.keys !== null) await judgeUnmeetable();
    else add(run, 'C26', skipped(`not a kmesim target and ${MIN_TTL_EXTENSION}=0 answered ${describe(probe.entry)}: no supported mandatory extension can be named`, probe.entry));
  }

  const optional = await rawEnc(run, JSON.stringify({ extension_optional: [{ kmesim_unknown_optional_extension: true }] } satisfies KeyRequest), size);
  const { status } = optional.entry.response;
  add(
    run,
    'C27',
    status === 200
      ? delivery('unknown extension_optional', optional.entry, optional.keys, 1, size)
      : status === 400
        ? refusal(run, 'C27', 'unknown extension_optional', optional.entry, { status: 400, message: SPEC_ERROR.extensionOptionalUnhandled })
        : status === 503 || optional.entry.response.failure !== undefined
          ? skipped(`unknown extension_optional: ${describe(optional.entry)}`, optional.entry)
          : failed(`unknown extension_optional: answered ${describe(optional.entry)}`, optional.entry),
  );
}

// ---- Multicast: C28 C29 ----------------------------------------------------------------------------------

async function checkMulticast(run: Run): Promise<void> {
  const { roles, session } = run;
  const count = run.params?.maxSaeIdCount;
  if (count === undefined) {
    for (const item of ['C28', 'C29'] as const) add(run, item, skipped('max_SAE_ID_count unknown: no usable status'));
    return;
  }
  if (count <= 0) {
    for (const item of ['C28', 'C29'] as const) add(run, item, skipped('max_SAE_ID_count is 0: the target offers no multicast'));
    return;
  }
  const filler = (i: number): string => `kmesim-extra-sae-${i}`;
  const listed = roles.peer ?? filler(0);
  const lists: Array<{ label: string; ids: string[] }> = [
    { label: 'duplicate SAE IDs', ids: [listed, listed] },
    { label: 'the master listed', ids: [roles.master] },
    { label: 'the slave listed', ids: [roles.slave] },
  ];
  if (count >= 1000) add(run, 'C28', skipped(`too many IDs: max_SAE_ID_count ${count} is too large to exceed`));
  else {
    const known = session.target.saes.map((sae) => sae.id).filter((id) => id !== roles.master && id !== roles.slave);
    lists.unshift({ label: `${count + 1} IDs (max_SAE_ID_count ${count})`, ids: Array.from({ length: count + 1 }, (_, i) => known[i] ?? filler(i + 1)) });
  }
  for (const { label, ids } of lists) add(run, 'C28', refusal(run, 'C28', label, (await encOf(run, { additional: ids })).entry, { status: 400, allow503: true }));

  if (roles.peer === null) return add(run, 'C29', skipped(`no second SAE on the slave's KME ${session.sae(roles.slave).kme} to name as additional slave`));
  const multicast = await encOf(run, { additional: [roles.peer] });
  const issued = delivery(`enc_keys naming ${roles.peer} as additional slave`, multicast.entry, multicast.keys, 1, run.params?.keySize);
  const key = multicast.keys?.[0];
  if (issued.verdict !== 'pass' || key === undefined) return add(run, 'C29', issued);
  const bySlave = retrieval(`slave ${roles.slave}`, await decOf(run, roles.slave, [key.keyId]), [key]);
  const byPeer = retrieval(`additional slave ${roles.peer}`, await decOf(run, roles.peer, [key.keyId]), [key]);
  add(run, 'C29', bySlave, byPeer);
  if (run.consumes && byPeer.verdict === 'pass') {
    const again = await decOf(run, roles.peer, [key.keyId]);
    add(run, 'C37', again.response.status === 200 ? failed(`multicast: additional slave ${roles.peer} retrieved key ${key.keyId} twice`, again) : passed(`multicast re-read by ${roles.peer}: ${again.response.status}`, again));
  }
}

// ---- Get key with key IDs: C33 C34 C35 C36 C37 C38 -------------------------------------------------------------

function unknownKeyId(sample: string | undefined, uuidIds: boolean): string {
  if (uuidIds || sample === undefined || isCanonicalUuid(sample)) return UNKNOWN_KEY_UUID;
  // Shaped like the target's own IDs (e.g. qk_SAE_000012), so the refusal is about existence, not format.
  const digits = /\d+(?!.*\d)/.exec(sample);
  return digits === null ? `${sample}_kmesim_unknown` : `${sample.slice(0, digits.index)}${'9'.repeat(digits[0].length + 3)}${sample.slice(digits.index + digits[0].length)}`;
}

async function checkRetrieval(run: Run, issued: Issued): Promise<void> {
  const { roles, session } = run;
  const [viaPost, viaRaw, viaGet] = issued.single;
  const spare = [...issued.spare];
  const live = [spare.shift(), spare.shift()] as const;
  const several = issued.several.length >= 2 ? issued.several : spare.slice(0, 2);
  const sample = [...issued.single, ...issued.several, ...issued.spare].find((key) => key !== null && key !== undefined)?.keyId;
  const unknown = unknownKeyId(sample, run.uuidIds);
  // The spec's answer always does; a compat profile's own (lenient: 404 "Key not found") does for it.
  const spec = { status: 400, message: SPEC_ERROR.keysNotFound };
  const notFound = run.notFound.status === spec.status && run.notFound.message === spec.message ? [spec] : [run.notFound, spec];
  const slaveKme = session.sae(roles.slave).kme;

  // C33: each single key by its slave on the slave's own KME; the GET form doubles as C34's one-ID GET.
  const retrieved: IssuedKey[] = [];
  for (const [label, key] of [['the key of POST {}', viaPost], ['the key of POST without a body', viaRaw]] as const) {
    if (key === null || key === undefined) continue;
    const judged = retrieval(label, await decOf(run, roles.slave, [key.keyId]), [key]);
    add(run, 'C33', judged);
    if (judged.verdict === 'pass') retrieved.push(key);
  }
  if (viaGet === null || viaGet === undefined) add(run, 'C34', skipped('no key from C16 to fetch with GET ?key_ID='));
  else {
    const judged = retrieval(`GET ?key_ID= for the key of GET enc_keys`, await decOf(run, roles.slave, [viaGet.keyId], { method: 'GET' }), [viaGet]);
    add(run, 'C34', judged);
    add(run, 'C33', judged);
  }
  if (!run.cases.has('C33')) add(run, 'C33', skipped('no key was delivered to retrieve'));

  let severalRetrieved = false;
  if (several.length < 2) add(run, 'C34', skipped('fewer than two keys were delivered'));
  else {
    const reversed = [...several].reverse();
    const judged = retrieval(`POST with ${reversed.length} IDs in reverse issue order`, await decOf(run, roles.slave, reversed.map((key) => key.keyId)), reversed);
    add(run, 'C34', judged);
    severalRetrieved = judged.verdict === 'pass';
  }

  // C37: a retrieved key, again through the slave's KME and through the other end of the link.
  const again = retrieved[0];
  if (!run.consumes) add(run, 'C37', skipped(`the target claims profile ${session.target.profile}: keys stay retrievable`));
  else if (again === undefined) add(run, 'C37', skipped('no key was retrieved'));
  else {
    const reread = await decOf(run, roles.slave, [again.keyId]);
    add(run, 'C37', reread.response.status === 200 ? failed(`key ${again.keyId} was retrieved a second time`, reread) : passed(`re-read: ${reread.response.status}`, reread));
    const otherKme = session.sae(roles.master).kme;
    if (otherKme !== slaveKme) {
      // Which KME of the link serves a re-read is open (and the slave may be unknown there): any refusal
      // will do, only a delivery is wrong.
      const otherEnd = await decOf(run, roles.slave, [again.keyId], { kme: otherKme });
      add(run, 'C37', otherEnd.response.status === 200 ? failed(`key ${again.keyId} was retrieved again through ${otherKme}`, otherEnd) : passed(`re-read through ${otherKme}: ${otherEnd.response.status}`, otherEnd));
    }
  }

  // C36: unknown, already consumed, issued under another master (below, with C38).
  add(run, 'C36', refusal(run, 'C36', 'an unknown key ID', await decOf(run, roles.slave, [unknown]), notFound));
  const consumed = several[0];
  if (!run.consumes) add(run, 'C36', skipped(`consumed key: the target claims profile ${session.target.profile}, whose keys are not consumed`));
  else if (!severalRetrieved || consumed === undefined) add(run, 'C36', skipped('consumed key: no key was retrieved to ask for again'));
  else add(run, 'C36', refusal(run, 'C36', 'an already-consumed key ID', await decOf(run, roles.slave, [consumed.keyId]), notFound));

  // C35 on one live key: a third SAE asks (through the slave's KME, where the key surely is), then the slave.
  const [first, second] = live;
  if (roles.third === null || first === undefined) {
    add(run, 'C35', skipped(roles.third === null ? 'the target lists no third SAE' : 'no spare key was delivered'));
  } else {
    const third = await decOf(run, roles.third, [first.keyId], { kme: slaveKme });
    add(run, 'C35', refusal(run, 'C35', `${roles.third} asking for ${roles.slave}'s key`, third, { status: 401 }));
    const kept = retrieval(`${roles.slave} afterwards`, await decOf(run, roles.slave, [first.keyId]), [first]);
    add(run, 'C35', kept.verdict === 'pass' ? passed('nothing consumed: the slave got the key afterwards', ...kept.entries) : kept);
    if (third.response.status !== 200) add(run, 'C38', kept.verdict === 'pass' ? passed(`after the third SAE's refused attempt the slave got the key`, ...kept.entries) : kept);
  }

  // C36 and C38 on another live key: another master named, a list with an unknown ID; then the slave.
  if (second === undefined) {
    add(run, 'C36', skipped('another master: no spare key was delivered'));
    if (!run.cases.has('C38')) add(run, 'C38', skipped('no spare key was delivered'));
    return;
  }
  const refused: string[] = [];
  const otherMaster = roles.third;
  if (otherMaster === null) add(run, 'C36', skipped('another master: the target lists no third SAE to name as master'));
  else {
    const other = await decOf(run, roles.slave, [second.keyId], { master: otherMaster });
    add(run, 'C36', refusal(run, 'C36', `naming ${otherMaster} as master of ${roles.master}'s key`, other, notFound));
    if (other.response.status !== 200) refused.push(`naming another master (${other.response.status})`);
  }
  const mixed = await decOf(run, roles.slave, [second.keyId, unknown]);
  add(run, 'C36', refusal(run, 'C36', 'a live key ID listed with an unknown one', mixed, notFound));
  if (mixed.response.status !== 200) refused.push(`listing it with an unknown ID (${mixed.response.status})`);
  if (refused.length === 0) return;
  const kept = retrieval(`${roles.slave} afterwards`, await decOf(run, roles.slave, [second.keyId]), [second]);
  add(run, 'C38', kept.verdict === 'pass' ? passed(`after ${refused.join(' and ')} the slave got the key`, ...kept.entries) : { ...kept, note: `after ${refused.join(' and ')}: ${kept.note}` });
}

// ---- C39 -------------------------------------------------------------------------------------------------

async function checkKeyIdLists(run: Run): Promise<void> {
  const { session, roles } = run;
  const slave = session.sae(roles.slave);
  const bodies = [
    { label: 'key_IDs missing', raw: JSON.stringify({} satisfies Partial<KeyIds>) },
    { label: 'key_IDs empty', raw: JSON.stringify({ key_IDs: [] } satisfies KeyIds) },
    { label: 'key_IDs not an array', raw: JSON.stringify({ key_IDs: { key_ID: UNKNOWN_KEY_UUID } }) },
    ...(run.uuidIds ? [{ label: 'a key_ID that is not a UUID', raw: JSON.stringify({ key_IDs: [{ key_ID: 'not-a-uuid' }] } satisfies KeyIds) }] : []),
  ];
  for (const { label, raw } of bodies) {
    const entry = await session.send({ kmeUrl: session.kmeUrl(slave.kme), sae: slave, method: 'POST', path: `/api/v1/keys/${encodeURIComponent(roles.master)}/dec_keys`, body: raw });
    run.decs.push(entry);
    add(run, 'C39', refusal(run, 'C39', label, entry, { status: 400 }));
  }
  if (!run.uuidIds) add(run, 'C39', skipped(`non-UUID key_ID: the target claims profile ${session.target.profile}, which does not promise UUIDs`));
}

// ---- The drain: C14 C31 --------------------------------------------------------------------------------------

function storedCount(entry: TranscriptEntry): number | null {
  const parsed = mandatoryStatus.safeParse(entry.response.json);
  return entry.response.status === 200 && parsed.success && parsed.data.stored_key_count >= 0 ? parsed.data.stored_key_count : null;
}

// Status may only be held to what it promised a moment ago: a target that refills in the background may
// show more keys than the last count minus the last delivery, so equality is never asserted. What is
// asserted is the other direction: an enc_keys for at most the keys a status has just shown must succeed
// (a 503 there is a C14 fail). Rounds of status → enc_keys(min(S, max_key_per_request)) run until status
// shows 0, then enc_keys(1) must answer 503 (C31). A 200 there is no verdict: the pool may have refilled
// between the two calls, which black-box traffic cannot tell from a status that under-reports, so C31 is
// skipped with the status that followed. Any other refusal of a request the KME cannot serve fails C31.
async function checkDrain(run: Run): Promise<void> {
  const { session, roles, params } = run;
  if (params === null) {
    for (const item of ['C14', 'C31'] as const) add(run, item, skipped('no usable status to drain the pool by'));
    return;
  }
  const perRequest = Math.max(1, Math.min(params.maxKeyPerRequest, Math.floor((DRAIN_BYTES_MAX * 8) / Math.max(8, params.keySize))));
  let requests = 0;
  let delivered = 0;
  let previous: { stored: number; taken: number } | null = null;
  let fell = 0;
  let short = 0;
  const summary = (): string => `${delivered} keys drained in ${requests} requests; the count fell by at least what was taken ${fell}×, by less ${short}× (a refill or an over-count)`;
  while (requests + 2 <= DRAIN_REQUESTS_MAX) {
    const status = await session.status(roles.master, roles.slave);
    requests += 1;
    run.statuses.push(status);
    const stored = storedCount(status);
    if (stored === null) {
      for (const item of ['C14', 'C31'] as const) add(run, item, skipped(`the drain stopped: status answered ${describe(status)}`, status));
      return;
    }
    if (previous !== null) {
      if (stored <= previous.stored - previous.taken) fell += 1;
      else short += 1;
    }
    if (stored === 0) {
      const probe = await encOf(run, { number: 1 });
      requests += 1;
      add(run, 'C14', passed(summary(), status));
      return judgeEmpty(run, status, probe.entry, requests);
    }
    const n = Math.min(stored, perRequest);
    const { entry, keys } = await encOf(run, { number: n });
    requests += 1;
    if (entry.response.failure !== undefined) {
      for (const item of ['C14', 'C31'] as const) add(run, item, skipped(`the drain stopped: ${describe(entry)}`, status, entry));
      return;
    }
    if (entry.response.status === 503) {
      add(run, 'C14', failed(`status showed ${stored} keys, then enc_keys for ${n} answered 503 (${summary()})`, status, entry));
      add(run, 'C31', skipped('the drain stopped at a C14 failure before status showed 0 keys'));
      return;
    }
    if (entry.response.status !== 200 || keys === null) {
      add(run, 'C17', failed(`number=${n} (within max_key_per_request ${params.maxKeyPerRequest}, right after status showed ${stored}): ${describe(entry)}`, status, entry));
      for (const item of ['C14', 'C31'] as const) add(run, item, skipped(`the drain stopped: enc_keys for ${n} answered ${describe(entry)}`, status, entry));
      return;
    }
    if (keys.length !== n) add(run, 'C17', failed(`number=${n}: ${keys.length} keys`, entry));
    delivered += keys.length;
    previous = { stored, taken: keys.length };
  }
  add(run, 'C14', skipped(`the pool did not run dry within ${DRAIN_REQUESTS_MAX} requests: too large, or refilling (${summary()})`));
  add(run, 'C31', skipped(`the pool never showed 0 keys within ${DRAIN_REQUESTS_MAX} requests`));
}

async function judgeEmpty(run: Run, status: TranscriptEntry, probe: TranscriptEntry, requests: number): Promise<void> {
  const { status: code, failure } = probe.response;
  if (failure !== undefined) return add(run, 'C31', skipped(`enc_keys(1) after status showed 0: ${describe(probe)}`, status, probe));
  if (code === 503) {
    const delivered = containerSchema.safeParse(probe.response.json).success;
    return add(run, 'C31', delivered ? failed('status showed 0 keys; enc_keys(1) answered 503 with a key container', status, probe) : passed('status showed 0 keys; enc_keys(1) answered 503', status, probe));
  }
  if (code !== 200) return add(run, 'C31', failed(`status showed 0 keys; enc_keys(1) answered ${describe(probe)} where not enough keys is 503`, status, probe));
  const after = requests < DRAIN_REQUESTS_MAX ? await run.session.status(run.roles.master, run.roles.slave) : null;
  if (after !== null) run.statuses.push(after);
  const now = after === null ? 'not asked' : (storedCount(after) ?? describe(after));
  add(run, 'C31', skipped(`status showed 0 keys, yet enc_keys(1) delivered one: the pool may have refilled in between (status now shows ${now})`, status, probe, ...(after === null ? [] : [after])));
}

// ---- Judged over all the phase's traffic: C3 C9 C12 C18 C19 C30 C41 C42 C43 C44 ------------------------------

const EXTENSION_MEMBERS = {
  status: Object.keys(statusSchema.shape).filter((name) => name.endsWith('_extension')),
  container: Object.keys(keyContainerSchema.shape).filter((name) => name.endsWith('_extension')),
  key: Object.keys(keySchema.shape).filter((name) => name.endsWith('_extension')),
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One case per item from per-entry problems: fail with the first few, else pass (or skip when none judged). */
function overAll(run: Run, item: Item, judged: number, what: string, problems: ReadonlyArray<{ note: string; entry: TranscriptEntry }>, sample: readonly TranscriptEntry[] = []): void {
  if (problems.length > 0) {
    const shown = problems.slice(0, 3);
    const more = problems.length > shown.length ? ` (and ${problems.length - shown.length} more)` : '';
    return add(run, item, failed(`${shown.map((p) => p.note).join('; ')}${more}`, ...shown.map((p) => p.entry)));
  }
  add(run, item, judged === 0 ? skipped(`no ${what} to judge`) : passed(`${judged} ${what} judged`, ...sample.slice(0, 2)));
}

function judgeTraffic(run: Run, entries: readonly TranscriptEntry[]): void {
  const answered = entries.filter((entry) => entry.response.failure === undefined && entry.response.status > 0);

  const withBody = answered.filter((entry) => entry.response.text.length > 0);
  overAll(run, 'C3', withBody.length, 'answers with a body', withBody.flatMap((entry) => {
    const type = entry.response.contentType;
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1];
    const json = /^application\/json\s*(;|$)/i.test(type);
    const utf8 = charset === undefined || /^utf-?8$/i.test(charset);
    const note = !json ? `Content-Type ${JSON.stringify(type)}` : !utf8 ? `charset ${charset}` : entry.response.json === undefined ? 'a body that is not JSON' : null;
    return note === null ? [] : [{ note: `#${entry.id} ${note}`, entry }];
  }), withBody);

  // A 503 is the spec's answer to a server-side failure (C32), not a malformed status.
  const judgedStatuses = run.statuses.filter((entry) => entry.response.failure === undefined && entry.response.status !== 503);
  const statusProblems = judgedStatuses.flatMap((entry) => {
    if (entry.response.status !== 200) return [{ note: `#${entry.id} status answered ${describe(entry)}`, entry }];
    const parsed = mandatoryStatus.safeParse(entry.response.json);
    const wrong = parsed.success ? [] : [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? '(body)')))];
    return wrong.length === 0 ? [] : [{ note: `#${entry.id} missing or mistyped: ${wrong.join(', ')}`, entry }];
  });
  overAll(run, 'C9', judgedStatuses.length, 'status answers', statusProblems, judgedStatuses);

  const parsedStatuses = run.statuses.flatMap((entry) => {
    const parsed = entry.response.status === 200 ? mandatoryStatus.safeParse(entry.response.json) : null;
    return parsed?.success === true ? [{ entry, status: parsed.data }] : [];
  });
  if (parsedStatuses.length > 0) {
    overAll(run, 'C12', parsedStatuses.length, 'status answers', parsedStatuses.flatMap(({ entry, status: s }) => {
      const sizes = s.min_key_size <= s.key_size && s.key_size <= s.max_key_size;
      const counts = s.stored_key_count <= s.max_key_count;
      return sizes && counts ? [] : [{ note: `#${entry.id} ${sizes ? '' : `min ${s.min_key_size}, key ${s.key_size}, max ${s.max_key_size}`}${sizes || counts ? '' : '; '}${counts ? '' : `stored ${s.stored_key_count} > max ${s.max_key_count}`}`, entry }];
    }), [parsedStatuses[0]?.entry as TranscriptEntry]);
  }

  judgeKeys(run);
  judgeErrors(run, answered);
  judgeExtensions(run, answered);
}

function judgeKeys(run: Run): void {
  const encs = run.encs.filter(({ entry }) => entry.response.status === 200);
  const formatProblems: Array<{ note: string; entry: TranscriptEntry }> = [];
  let judged = 0;
  const judgeKey = (entry: TranscriptEntry, key: IssuedKey, sizeBits: number | undefined): void => {
    judged += 1;
    const bits = bitsOf(key.material);
    if (bits === null) formatProblems.push({ note: `#${entry.id} key ${key.keyId} is not padded standard base64`, entry });
    else if (sizeBits !== undefined && bits !== sizeBits) formatProblems.push({ note: `#${entry.id} key ${key.keyId} has ${bits} bits where ${sizeBits} were asked for`, entry });
  };
  for (const { entry, sizeBits } of encs) {
    const keys = keysOf(entry);
    if (keys === null) formatProblems.push({ note: `#${entry.id} 200 without a key container`, entry });
    for (const key of keys ?? []) judgeKey(entry, key, sizeBits);
  }
  for (const entry of run.decs.filter((e) => e.response.status === 200)) {
    const keys = keysOf(entry);
    if (keys === null) formatProblems.push({ note: `#${entry.id} 200 without a key container`, entry });
    for (const key of keys ?? []) judgeKey(entry, key, run.sizeOfKey.get(key.keyId));
  }
  const keyed = [...encs.map(({ entry }) => entry), ...run.decs.filter((e) => e.response.status === 200)];
  overAll(run, 'C18', judged, 'keys', formatProblems, keyed);

  const seenIds = new Map<string, TranscriptEntry>();
  const seenMaterial = new Map<string, { keyId: string; entry: TranscriptEntry }>();
  const idProblems: Array<{ note: string; entry: TranscriptEntry }> = [];
  const reuse: Array<{ note: string; entry: TranscriptEntry }> = [];
  let issued = 0;
  for (const { entry } of encs) {
    for (const key of keysOf(entry) ?? []) {
      issued += 1;
      if (run.uuidIds && !isCanonicalUuid(key.keyId)) idProblems.push({ note: `#${entry.id} key_ID ${JSON.stringify(key.keyId)} is not a canonical UUID`, entry });
      const first = seenIds.get(key.keyId);
      if (first !== undefined) {
        idProblems.push({ note: `#${entry.id} key_ID ${key.keyId} was issued before in #${first.id}`, entry });
        reuse.push({ note: `#${entry.id} key ${key.keyId} was delivered before in #${first.id}`, entry });
      } else seenIds.set(key.keyId, entry);
      const bits = bitsOf(key.material);
      // Short keys collide by chance; identical bytes mean reuse only from 64 bits on (decision 0004).
      if (bits === null || bits < 64) continue;
      const owner = seenMaterial.get(key.material);
      if (owner !== undefined && owner.keyId !== key.keyId) reuse.push({ note: `#${entry.id} key ${key.keyId} carries the bytes of key ${owner.keyId} (#${owner.entry.id})`, entry });
      else seenMaterial.set(key.material, { keyId: key.keyId, entry });
    }
  }
  const delivering = encs.map(({ entry }) => entry);
  overAll(run, 'C19', issued, run.uuidIds ? 'key_IDs' : 'key_IDs (uniqueness only: the claimed profile does not promise UUIDs)', idProblems, delivering);
  overAll(run, 'C30', issued, 'delivered keys', reuse, delivering);
}

function judgeErrors(run: Run, answered: readonly TranscriptEntry[]): void {
  const errors = answered.filter((entry) => entry.response.status !== 200);
  overAll(run, 'C41', errors.length, 'error answers', errors.flatMap((entry) => (errorSchema.safeParse(entry.response.json).success ? [] : [{ note: `#${entry.id} ${describe(entry)}`, entry }])), errors);

  // A compat profile may answer a missing key with its own status (lenient: 404) on dec_keys.
  const allowed = (entry: TranscriptEntry): boolean =>
    [200, 400, 401, 503].includes(entry.response.status) || (entry.response.status === run.notFound.status && /\/dec_keys(\?|$)/.test(entry.request.path));
  overAll(run, 'C42', answered.length, 'answers', answered.flatMap((entry) => (allowed(entry) ? [] : [{ note: `#${entry.id} ${entry.request.method} ${entry.request.path.split('?')[0]} answered ${entry.response.status}`, entry }])), answered);

  const mismatched = run.specStrings.flatMap(({ item, expected, entry }) => {
    const message = messageOf(entry);
    return message === expected ? [] : [{ note: `${item} #${entry.id} ${JSON.stringify(message ?? null)} instead of "${expected}"`, entry }];
  });
  overAll(run, 'C43', run.specStrings.length, 'answers where the spec fixes the message', mismatched, run.specStrings.map(({ entry }) => entry));
}

function judgeExtensions(run: Run, answered: readonly TranscriptEntry[]): void {
  const problems: Array<{ note: string; entry: TranscriptEntry }> = [];
  const sample: TranscriptEntry[] = [];
  let judged = 0;
  const judgeMembers = (entry: TranscriptEntry, where: string, object: Record<string, unknown>, names: readonly string[]): void => {
    for (const name of names) {
      if (!(name in object)) continue;
      if (!isPlainObject(object[name])) problems.push({ note: `#${entry.id} ${where}${name} is ${JSON.stringify(object[name])}`, entry });
    }
  };
  for (const entry of answered) {
    const json = entry.response.json;
    if (entry.response.status !== 200 || !isPlainObject(json)) continue;
    judged += 1;
    sample.push(entry);
    if (Array.isArray(json['keys'])) {
      judgeMembers(entry, '', json, EXTENSION_MEMBERS.container);
      json['keys'].forEach((key: unknown, i: number) => {
        if (isPlainObject(key)) judgeMembers(entry, `keys[${i}].`, key, EXTENSION_MEMBERS.key);
      });
    } else judgeMembers(entry, '', json, EXTENSION_MEMBERS.status);
  }
  overAll(run, 'C44', judged, 'JSON answers', problems, sample);
}
