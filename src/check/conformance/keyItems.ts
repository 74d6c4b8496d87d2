// Conformance items about enc_keys: C16, C17, C20 (delivery), C21–C24 (refusals), C25–C27 (extensions), C28, C29 (multicast).
import { MIN_TTL_EXTENSION } from '../../model/profiles.js';
import { SPEC_ERROR, type KeyRequest } from '../../model/wireSchema.js';
import type { TranscriptEntry } from '../checkSession.js';
import { UNMEETABLE_MIN_TTL_MS, type Params, type IssuedKey, type Run, add, passed, failed, skipped, describe, messageOf, bitsOf, refusal, encOf, recordEnc, rawEnc, decOf, delivery, retrieval, reread } from './conformanceRun.js';
import { deliveryOf, encRefusalOf, keysOf, type Case } from './conformanceRun.js';

// ---- Get key: C16 C17 C20 ----------------------------------------------------------------------------------

/** The largest key the checker asks for on purpose: 64 Kibit (8 KiB). */
const EXTREME_BITS_MAX = 1 << 16;

export interface Issued {
  /** Keys delivered by the forms of C16: POST {}, POST without body, GET without query. */
  readonly single: Array<IssuedKey | null>;
  readonly several: IssuedKey[];
  readonly spare: IssuedKey[];
}

/** A legal size other than key_size, or key_size itself when the size range is not known. */
export function otherSize(params: Params): number {
  const { keySize, minKeySize: min, maxKeySize: max } = params;
  if (min === undefined || max === undefined) return keySize;
  const candidates = [keySize * 2, Math.floor(keySize / 16) * 8, min, max];
  return candidates.find((size) => size > 0 && size % 8 === 0 && size !== keySize && size >= min && size <= max) ?? keySize;
}

export function shapeOf(entry: TranscriptEntry, keys: IssuedKey[] | null): string {
  return keys === null ? `status ${entry.response.status}` : `${keys.length} keys of ${keys.map((key) => bitsOf(key.material) ?? '?').join('/')} bits`;
}

export async function checkGetKey(run: Run): Promise<Issued> {
  const size = run.params?.keySize;
  const forms = [
    { label: 'POST {}', send: () => encOf(run, {}) },
    { label: 'POST without a body', send: () => rawEnc(run, undefined, size) },
    { label: 'GET without query', send: () => encOf(run, {}, 'GET') },
  ];
  const single: Array<IssuedKey | null> = [];
  for (const form of forms) {
    let sent = await form.send();
    const again = async (): Promise<typeof sent> => (sent = await form.send());
    // The spec's forms of a default request are POST {} and a GET without query; a POST without any body
    // may be refused (docs/checker-latitude.md), as long as the refusal is a 400 with an Error body.
    const bodyless = form.label === 'POST without a body' && sent.entry.response.status === 400 && messageOf(sent.entry) !== undefined;
    const judged = bodyless ? passed(`${form.label}: refused with 400 (allowed: not one of the spec's forms)`, sent.entry) : await deliveryOf(run, form.label, sent.entry, sent.keys, 1, size, again);
    add(run, 'C16', judged);
    single.push(judged.verdict === 'pass' ? (sent.keys?.[0] ?? null) : null);
  }

  const several: IssuedKey[] = [];
  const spare: IssuedKey[] = [];
  if (run.params === null) {
    add(run, 'C17', skipped('max_key_per_request unknown: no usable status'));
    add(run, 'C20', skipped('key sizes unknown: no usable status'));
    return { single, several, spare };
  }
  const perRequest = run.params.maxKeyPerRequest;
  if (perRequest === undefined) {
    add(run, 'C17', skipped('max_key_per_request missing or mistyped in status'));
    add(run, 'C20', skipped('max_key_per_request missing or mistyped in status'));
    return { single, several, spare };
  }
  const n = Math.min(3, perRequest);
  let many = await encOf(run, { number: n });
  const judged = await deliveryOf(run, `number=${n}`, many.entry, many.keys, n, size, async () => (many = await encOf(run, { number: n })));
  add(run, 'C17', judged);
  if (judged.verdict === 'pass') several.push(...(many.keys ?? []));

  // The extremes of the size range, where a KME may cut or pad keys (bounded, so no target is asked for
  // megabytes): C18 judges each key's size, the history checker I9.
  const { minKeySize: min, maxKeySize: max } = run.params;
  for (const extreme of [...new Set([min, max])]) {
    if (extreme === undefined || extreme === size || extreme <= 0 || extreme % 8 !== 0 || extreme > EXTREME_BITS_MAX) continue;
    let sent = await encOf(run, { size: extreme });
    const label = `size=${extreme} (the ${extreme === max ? 'largest' : 'smallest'} size status allows)`;
    add(run, 'C18', await deliveryOf(run, label, sent.entry, sent.keys, 1, extreme, async () => (sent = await encOf(run, { size: extreme }))));
    if (sent.keys !== null) spare.push(...sent.keys);
  }

  const m = Math.min(2, perRequest);
  const bits = otherSize(run.params);
  let viaGet = await encOf(run, { number: m, size: bits }, 'GET');
  let viaPost = await encOf(run, { number: m, size: bits });
  const get = await deliveryOf(run, `GET ?number=${m}&size=${bits}`, viaGet.entry, viaGet.keys, m, bits, async () => (viaGet = await encOf(run, { number: m, size: bits }, 'GET')));
  const post = await deliveryOf(run, `POST {"number":${m},"size":${bits}}`, viaPost.entry, viaPost.keys, m, bits, async () => (viaPost = await encOf(run, { number: m, size: bits })));
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

export async function checkBadRequests(run: Run): Promise<void> {
  const { session, roles } = run;
  const params = run.params;
  if (params === null) {
    for (const item of ['C21', 'C22', 'C23'] as const) add(run, item, skipped('key sizes and limits unknown: no usable status'));
  } else {
    // A size in range isolates the multiple-of-8 rule; out of range, any 400 will do (either rule applies).
    const { minKeySize: min, maxKeySize: max, maxKeyPerRequest: perRequest } = params;
    const inRange = min === undefined || max === undefined ? undefined : [params.keySize + 4, params.keySize - 4, min + 4, max - 4].find((s) => s > 0 && s % 8 !== 0 && s >= min && s <= max);
    const odd = inRange ?? params.keySize + 4;
    const oddEntry = (await encOf(run, { size: odd })).entry;
    const label = inRange === undefined ? `size=${odd} (outside the size range too, so any 400 will do)` : `size=${odd}`;
    add(run, 'C21', await encRefusalOf(run, 'C21', label, oddEntry, { status: 400, ...(inRange === undefined ? {} : { message: SPEC_ERROR.sizeNotMultipleOf8 }), allow503: true }, async () => (await encOf(run, { size: odd })).entry));

    const sizes = [...(max === undefined ? [] : [max + 8]), ...(min === undefined ? [] : [min - 8])].filter((s) => s >= 0 && Number.isSafeInteger(s));
    if (sizes.length === 0) add(run, 'C22', skipped('min_key_size and max_key_size missing or mistyped in status'));
    for (const s of sizes) add(run, 'C22', refusal(run, 'C22', `size=${s}`, (await encOf(run, { size: s })).entry, { status: 400, allow503: true }));

    const numbers = [0, -1, 1.5, ...(perRequest !== undefined && Number.isSafeInteger(perRequest + 1) ? [perRequest + 1] : [])];
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

export async function checkExtensions(run: Run): Promise<void> {
  const size = run.params?.keySize;
  const unsupportedBody = JSON.stringify({ extension_mandatory: [{ kmesim_unsupported_extension: true }] } satisfies KeyRequest);
  const unsupported = await rawEnc(run, unsupportedBody, size);
  const c25 = await encRefusalOf(run, 'C25', 'unknown extension_mandatory', unsupported.entry, { status: 400, message: SPEC_ERROR.extensionMandatoryUnsupported, allow503: true }, async () => (await rawEnc(run, unsupportedBody, size)).entry);
  add(run, 'C25', c25);

  // Only a named, supported extension can be unmeetable. kmesim supports kmesim_min_ttl_ms; a target with a
  // kmesim admin API is kmesim; any other target is probed with a meetable value (0) first.
  const unmeetable = (): Promise<{ entry: TranscriptEntry }> => rawEnc(run, JSON.stringify({ extension_mandatory: [{ [MIN_TTL_EXTENSION]: UNMEETABLE_MIN_TTL_MS }] } satisfies KeyRequest), size);
  const judgeUnmeetable = async (): Promise<void> => {
    const { entry } = await unmeetable();
    add(run, 'C26', await encRefusalOf(run, 'C26', `${MIN_TTL_EXTENSION}=${UNMEETABLE_MIN_TTL_MS}`, entry, { status: 400, message: SPEC_ERROR.extensionMandatoryUnmet, allow503: true }, async () => (await unmeetable()).entry));
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

  const optionalBody = JSON.stringify({ extension_optional: [{ kmesim_unknown_optional_extension: true }] } satisfies KeyRequest);
  let optional = await rawEnc(run, optionalBody, size);
  const judgeOptional = (entry: TranscriptEntry): Case => {
    const { status } = entry.response;
    if (status === 200) return delivery('unknown extension_optional', entry, entry === optional.entry ? optional.keys : keysOf(entry), 1, size);
    if (status === 400) return refusal(run, 'C27', 'unknown extension_optional', entry, { status: 400, message: SPEC_ERROR.extensionOptionalUnhandled });
    if (status === 503 || entry.response.failure !== undefined) return skipped(`unknown extension_optional: ${describe(entry)}`, entry);
    return failed(`unknown extension_optional: answered ${describe(entry)}`, entry);
  };
  add(
    run,
    'C27',
    await encRefusalOf(run, 'C27', 'unknown extension_optional', optional.entry, { status: 400 }, async () => (optional = await rawEnc(run, optionalBody, size)).entry, judgeOptional),
  );
}

// ---- Multicast: C28 C29 ----------------------------------------------------------------------------------

export async function checkMulticast(run: Run): Promise<void> {
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
  const peer = roles.peer;
  let multicast = await encOf(run, { additional: [peer] });
  const issued = await deliveryOf(run, `enc_keys naming ${peer} as additional slave`, multicast.entry, multicast.keys, 1, run.params?.keySize, async () => (multicast = await encOf(run, { additional: [peer] })));
  const key = multicast.keys?.[0];
  if (issued.verdict !== 'pass' || key === undefined) return add(run, 'C29', issued);
  const bySlave = retrieval(`slave ${roles.slave}`, await decOf(run, roles.slave, [key.keyId]), [key]);
  const byPeer = retrieval(`additional slave ${roles.peer}`, await decOf(run, roles.peer, [key.keyId]), [key]);
  add(run, 'C29', bySlave, byPeer);
  if (run.consumes && byPeer.verdict === 'pass') {
    const again = await decOf(run, roles.peer, [key.keyId]);
    add(run, 'C37', reread(run, again, `multicast re-read by ${roles.peer}`, `multicast: additional slave ${roles.peer} retrieved key ${key.keyId} twice`));
  }
}

