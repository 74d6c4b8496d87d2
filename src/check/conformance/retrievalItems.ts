// Conformance items about dec_keys: C33–C39.
import { isCanonicalUuid } from '../../model/keyIds.js';
import { SPEC_ERROR, type KeyIds } from '../../model/wireSchema.js';
import type { Issued } from './keyItems.js';
import { add, decOf, encOf, failed, passed, refusal, reread, retrieval, skipped, UNKNOWN_KEY_UUID, type Case, type IssuedKey, type Run } from './conformanceRun.js';

// ---- Get key with key IDs: C33 C34 C35 C36 C37 C38 -------------------------------------------------------------

export function unknownKeyId(sample: string | undefined, uuidIds: boolean): string {
  if (uuidIds || sample === undefined || isCanonicalUuid(sample)) return UNKNOWN_KEY_UUID;
  // Shaped like the target's own IDs (e.g. qk_SAE_000012), so the refusal is about existence, not format.
  const digits = /\d+(?!.*\d)/.exec(sample);
  return digits === null ? `${sample}_kmesim_unknown` : `${sample.slice(0, digits.index)}${'9'.repeat(digits[0].length + 3)}${sample.slice(digits.index + digits[0].length)}`;
}

export async function checkRetrieval(run: Run, issued: Issued): Promise<void> {
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
    add(run, 'C37', reread(run, await decOf(run, roles.slave, [again.keyId]), 're-read', `key ${again.keyId} was retrieved a second time`));
    const otherKme = session.sae(roles.master).kme;
    if (otherKme !== slaveKme) {
      // Which KME of the link serves a re-read is open (and the slave may be unknown there): any refusal
      // will do, only a delivery is wrong.
      const otherEnd = await decOf(run, roles.slave, [again.keyId], { kme: otherKme });
      add(run, 'C37', reread(run, otherEnd, `re-read through ${otherKme}`, `key ${again.keyId} was retrieved again through ${otherKme}`));
    }
    if (run.repeatGraceMs > 0) add(run, 'C37', await rereadAfterGrace(run, again.keyId));
  }

  // C36: unknown, already consumed, issued under another master (below, with C38).
  add(run, 'C36', refusal(run, 'C36', 'an unknown key ID', await decOf(run, roles.slave, [unknown]), notFound));
  const consumed = several[0];
  if (!run.consumes) add(run, 'C36', skipped(`consumed key: the target claims profile ${session.target.profile}, whose keys are not consumed`));
  else if (!severalRetrieved || consumed === undefined) add(run, 'C36', skipped('consumed key: no key was retrieved to ask for again'));
  else if (run.repeatGraceMs > 0) add(run, 'C36', skipped(`consumed key: within the declared repeat grace (${run.repeatGraceMs} ms) its slave may get it again`));
  else add(run, 'C36', refusal(run, 'C36', 'an already-consumed key ID', await decOf(run, roles.slave, [consumed.keyId]), notFound));

  // C35 and C38 each on a key delivered just before, so that nothing between its delivery and the slave's
  // retrieval but the refused requests could take it (a later delivery to the pair may drop earlier keys).
  // A third SAE asks (through the slave's KME, where the key surely is), then the slave.
  const fresh = async (fallback: IssuedKey | undefined): Promise<IssuedKey | undefined> => ((await encOf(run, {})).keys ?? [])[0] ?? fallback;
  const first = roles.third === null ? undefined : await fresh(live[0]);
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
  const second = await fresh(live[1]);
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

/** The longest repeat grace the checker waits out to see a key consumed; a longer one is not judged. */
const GRACE_WAITED_MAX_MS = 10_000;

/**
 * Under a declared repeat grace a re-read may be answered: consumption shows only once the grace is over.
 * The checker waits it out (with a margin for the answers' own travel) and asks again: now only a refusal
 * will do. A target that never consumes passes every re-read within the grace, but not this one.
 */
async function rereadAfterGrace(run: Run, keyId: string): Promise<Case> {
  const grace = run.repeatGraceMs;
  if (grace > GRACE_WAITED_MAX_MS) return skipped(`after the grace: the declared repeat grace (${grace} ms) is longer than the ${GRACE_WAITED_MAX_MS} ms the checker waits out`);
  const margin = Math.max(1_000, Math.ceil(grace / 10));
  await new Promise((resolve) => setTimeout(resolve, grace + margin));
  const after = await decOf(run, run.roles.slave, [keyId]);
  return after.response.status === 200
    ? failed(`key ${keyId} was retrieved again ${grace + margin} ms after its first retrieval, past the declared repeat grace (${grace} ms)`, after)
    : passed(`re-read after the declared repeat grace: ${after.response.status}`, after);
}

// ---- C39 -------------------------------------------------------------------------------------------------

export async function checkKeyIdLists(run: Run): Promise<void> {
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

