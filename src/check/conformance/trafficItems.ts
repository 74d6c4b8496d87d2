// Items judged over all of the phase's traffic: C3, C9, C12, C18, C19, C30, C41–C44.
import { isCanonicalUuid } from '../../model/keyIds.js';
import { errorSchema, keyContainerSchema, keySchema, statusSchema } from '../../model/wireSchema.js';
import type { TranscriptEntry } from '../checkSession.js';
import { add, bitsOf, describe, failed, keysOf, messageOf, passed, readStatus, skipped, UNKNOWN_SAE, type IssuedKey, type Item, type Run } from './conformanceRun.js';

// ---- Judged over all the phase's traffic: C3 C9 C12 C18 C19 C30 C41 C42 C43 C44 ------------------------------

export const EXTENSION_MEMBERS = {
  status: Object.keys(statusSchema.shape).filter((name) => name.endsWith('_extension')),
  container: Object.keys(keyContainerSchema.shape).filter((name) => name.endsWith('_extension')),
  key: Object.keys(keySchema.shape).filter((name) => name.endsWith('_extension')),
};

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One case per item from per-entry problems: fail with the first few, else pass (or skip when none judged). */
export function overAll(run: Run, item: Item, judged: number, what: string, problems: ReadonlyArray<{ note: string; entry: TranscriptEntry }>, sample: readonly TranscriptEntry[] = []): void {
  if (problems.length > 0) {
    const shown = problems.slice(0, 3);
    const more = problems.length > shown.length ? ` (and ${problems.length - shown.length} more)` : '';
    return add(run, item, failed(`${shown.map((p) => p.note).join('; ')}${more}`, ...shown.map((p) => p.entry)));
  }
  add(run, item, judged === 0 ? skipped(`no ${what} to judge`) : passed(`${judged} ${what} judged`, ...sample.slice(0, 2)));
}

export function judgeTraffic(run: Run, entries: readonly TranscriptEntry[]): void {
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
    const { wrong } = readStatus(entry.response.json);
    return wrong.length === 0 ? [] : [{ note: `#${entry.id} missing or mistyped: ${wrong.join(', ')}`, entry }];
  });
  overAll(run, 'C9', judgedStatuses.length, 'status answers', statusProblems, judgedStatuses);

  // C12 judges the fields it needs wherever they have their types, whatever else is wrong with the answer.
  const parsedStatuses = run.statuses.flatMap((entry) => {
    const { fields } = entry.response.status === 200 ? readStatus(entry.response.json) : { fields: {} };
    const { min_key_size: min, key_size: size, max_key_size: max, stored_key_count: stored, max_key_count: most } = fields as Partial<Record<string, number>>;
    if (min === undefined || size === undefined || max === undefined || stored === undefined || most === undefined) return [];
    return [{ entry, status: { min_key_size: min, key_size: size, max_key_size: max, stored_key_count: stored, max_key_count: most } }];
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

export function judgeKeys(run: Run): void {
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

export function judgeErrors(run: Run, answered: readonly TranscriptEntry[]): void {
  const errors = answered.filter((entry) => entry.response.status !== 200);
  overAll(run, 'C41', errors.length, 'error answers', errors.flatMap((entry) => (errorSchema.safeParse(entry.response.json).success ? [] : [{ note: `#${entry.id} ${describe(entry)}`, entry }])), errors);

  // A compat profile may answer a missing key with its own status (lenient: 404) on dec_keys.
  // A 404 where what the request names does not exist (an unknown slave, a key that is not there) is an
  // answer real KMEs give where the spec names none (docs/checker-latitude.md).
  const allowed = (entry: TranscriptEntry): boolean =>
    [200, 400, 401, 503].includes(entry.response.status) ||
    (entry.response.status === run.notFound.status && /\/dec_keys(\?|$)/.test(entry.request.path)) ||
    (entry.response.status === 404 && (entry.request.path.includes(UNKNOWN_SAE) || /\/dec_keys(\?|$)/.test(entry.request.path)));
  overAll(run, 'C42', answered.length, 'answers', answered.flatMap((entry) => (allowed(entry) ? [] : [{ note: `#${entry.id} ${entry.request.method} ${entry.request.path.split('?')[0]} answered ${entry.response.status}`, entry }])), answered);

  const mismatched = run.specStrings.flatMap(({ item, expected, entry }) => {
    const message = messageOf(entry);
    return message === expected ? [] : [{ note: `${item} #${entry.id} ${JSON.stringify(message ?? null)} instead of "${expected}"`, entry }];
  });
  overAll(run, 'C43', run.specStrings.length, 'answers where the spec fixes the message', mismatched, run.specStrings.map(({ entry }) => entry));
}

export function judgeExtensions(run: Run, answered: readonly TranscriptEntry[]): void {
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
