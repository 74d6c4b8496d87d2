// Probes a KME's authors need, beyond the request forms: who may ask (C1), whether an SAE can be its own
// slave (C28), and one key asked for by several concurrent dec_keys on both KMEs at once (C37, I3).
import { violation } from '../../model/violation.js';
import type { TranscriptEntry } from '../checkSession.js';
import { decPath, encPath } from '../etsiPaths.js';
import { add, decOf, describe, encOf, failed, passed, retrieval, skipped, type Case, type Run } from './conformanceRun.js';

/** An SAE ID no deployment uses: a KME that serves it serves anyone who names themselves. */
const STRANGER = 'kmesim-probe-unknown-sae';

/** A refusal of someone who must not be served: any 4xx. A 200 is the defect; a 503 or no answer tells nothing. */
function refused(label: string, entry: TranscriptEntry): Case {
  const { status, failure } = entry.response;
  if (failure !== undefined || status === 503) return skipped(`${label}: ${describe(entry)}`, entry);
  if (status >= 400 && status < 500) return passed(`${label}: ${status}`, entry);
  return failed(`${label}: answered ${describe(entry)}`, entry);
}

/**
 * C1 in header mode: an SAE ID that is not in the target, and no identity header at all, must get no key
 * from enc_keys and no one else's key from dec_keys (I5). In mTLS mode a client without a certificate
 * already fails at the handshake, so there is nothing to probe from here.
 */
export async function probeIdentity(run: Run): Promise<void> {
  const { session, roles } = run;
  const master = session.sae(roles.master);
  const slave = session.sae(roles.slave);
  if (master.header === undefined || slave.header === undefined) return add(run, 'C1', skipped('mTLS identity: a client without a certificate fails at the handshake'));
  const stranger = { ...master, id: STRANGER, value: STRANGER };
  const anonymous = { ...master, id: '(no identity)', header: 'x-kmesim-no-identity', value: '' };
  for (const [who, sae] of [[`${master.header}: ${STRANGER}`, stranger], ['no identity header', anonymous]] as const) {
    const entry = await session.send({ kmeUrl: session.kmeUrl(master.kme), sae, ...encPath(roles.slave, {}, 'POST') });
    const judged = refused(`enc_keys for ${roles.slave} with ${who}`, entry);
    add(run, 'C1', judged);
    if (entry.response.status === 200) {
      session.violations.push({ ...violation('I5', `enc_keys handed keys to a caller that is no SAE of the target (${who})`, { caller: sae.id, exchange: entry.id }), entries: [entry.id] });
    }
  }
  // Someone else's live key, asked for by the stranger at the slave's KME naming the right master.
  const { keys } = await encOf(run, {});
  const key = keys?.[0];
  if (key === undefined) return add(run, 'C1', skipped('dec_keys by an unknown SAE: no key was delivered to ask for'));
  const asked = await session.send({ kmeUrl: session.kmeUrl(slave.kme), sae: { ...slave, id: STRANGER, value: STRANGER }, ...decPath(roles.master, [key.keyId], 'POST') });
  add(run, 'C1', refused(`dec_keys for ${roles.slave}'s key with ${slave.header}: ${STRANGER}`, asked));
  if (asked.response.status === 200) {
    session.violations.push({ ...violation('I5', `dec_keys handed key ${key.keyId}, issued for ${roles.slave}, to a caller that is no SAE of the target`, { keyId: key.keyId, caller: STRANGER, exchange: asked.id }), entries: [asked.id] });
  }
  // The slave still gets it (judged by the history checker: a stranger's request consumes nothing).
  await session.dec(roles.slave, roles.master, [key.keyId]);
}

/** C28: enc_keys naming the caller itself as slave hands keys to one party, which is no key agreement. */
export async function probeSelfSlave(run: Run): Promise<void> {
  const { session, roles } = run;
  const master = session.sae(roles.master);
  const entry = await session.send({ kmeUrl: session.kmeUrl(master.kme), sae: master, ...encPath(roles.master, {}, 'POST') });
  add(run, 'C28', refused(`enc_keys by ${roles.master} naming itself as slave`, entry));
}

/**
 * C37 and I3 under concurrency: one key, asked for at once by its slave twice on its own KME and twice on
 * the master's KME. At most one answer may carry it; the history checker judges the burst (a refusal on the
 * master's KME is allowed where it does not serve the slave).
 */
export async function probeConcurrentRetrieval(run: Run): Promise<void> {
  const { session, roles } = run;
  if (!run.consumes) return add(run, 'C37', skipped(`concurrent retrieval: the target claims profile ${session.target.profile}, whose keys stay retrievable`));
  const { keys } = await encOf(run, {});
  const key = keys?.[0];
  if (key === undefined) return add(run, 'C37', skipped('concurrent retrieval: no key was delivered'));
  const slaveKme = session.sae(roles.slave).kme;
  const masterKme = session.sae(roles.master).kme;
  const kmes = [slaveKme, masterKme, slaveKme, masterKme];
  const entries = await session.burst(kmes.map((kme) => ({ kind: 'dec' as const, caller: roles.slave, master: roles.master, keyIds: [key.keyId], kme })));
  run.decs.push(...entries);
  const delivered = entries.filter((entry) => entry.response.status === 200);
  const where = [...new Set(kmes)].join(' and ');
  add(
    run,
    'C37',
    // Under a declared repeat grace the slave's concurrent requests are repeats: each may be answered.
    delivered.length > 1 && run.repeatGraceMs === 0
      ? failed(`${delivered.length} of ${entries.length} concurrent dec_keys of one key (on ${where}) delivered it`, ...entries)
      : passed(`${entries.length} concurrent dec_keys of one key on ${where}: ${delivered.length} delivered it`, ...entries),
  );
}

/**
 * A master reading back its own key through dec_keys: some KMEs refuse it, some allow it (the spec is
 * silent). Either way the slave must still get the key afterwards, with the bytes its master got (C33; the
 * history checker judges I2 and I4).
 */
export async function probeMasterRead(run: Run): Promise<void> {
  const { roles } = run;
  const { keys } = await encOf(run, {});
  const key = keys?.[0];
  if (key === undefined) return add(run, 'C33', skipped('after the master read its key back: no key was delivered'));
  const own = await decOf(run, roles.master, [key.keyId]);
  const slave = retrieval(`${roles.slave} after ${roles.master} asked for its own key (${own.response.status === 200 ? 'served' : own.response.status})`, await decOf(run, roles.slave, [key.keyId]), [key]);
  add(run, 'C33', slave);
}
