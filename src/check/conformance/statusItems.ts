// Conformance items about status and path SAE IDs: C4, C9–C12 (first status), C15.
import type { TranscriptEntry } from '../checkSession.js';
import { UNKNOWN_SAE, add, describe, failed, keysOf, passed, readStatus, skipped, type Case, type Run } from './conformanceRun.js';

// ---- Status: C9 C10 C11 C12 ----------------------------------------------------------------------------


export async function checkStatus(run: Run): Promise<void> {
  const { session, roles } = run;
  const entry = await session.status(roles.master, roles.slave);
  run.statuses.push(entry);
  const { fields: status, wrong } = readStatus(entry.response.json);
  for (const name of wrong) run.statusFields.add(name);
  if (entry.response.status !== 200 || status.key_size === undefined) {
    const why = `status ${roles.slave} as ${roles.master} ${entry.response.status === 200 ? 'has no integer key_size' : `answered ${describe(entry)}`}`;
    for (const item of ['C10', 'C11', 'C12'] as const) add(run, item, skipped(`no usable status (${why})`, entry));
    return;
  }
  // A mistyped field leaves only the items that need it unjudged (C9 names it).
  run.params = { keySize: status.key_size, minKeySize: status.min_key_size, maxKeySize: status.max_key_size, maxKeyPerRequest: status.max_key_per_request, maxSaeIdCount: status.max_SAE_ID_count };
  const show = (name: string, value: unknown): string => (value === undefined ? `${name} missing or mistyped` : `${name} ${JSON.stringify(value)}`);
  add(
    run,
    'C10',
    status.master_SAE_ID === roles.master && status.slave_SAE_ID === roles.slave
      ? passed(`master_SAE_ID ${roles.master}, slave_SAE_ID ${roles.slave}`, entry)
      : failed(`${show('master_SAE_ID', status.master_SAE_ID)} and ${show('slave_SAE_ID', status.slave_SAE_ID)} for caller ${roles.master} and path ${roles.slave}`, entry),
  );
  const source = session.sae(roles.master).kme;
  add(run, 'C11', status.source_KME_ID === source ? passed(`source_KME_ID ${source}`, entry) : failed(`${show('source_KME_ID', status.source_KME_ID)}, but the KME called is ${source}`, entry));
  // With one KME listed the slave may sit behind a peer KME the target file does not name: its ID is unknown.
  const slaveKme = session.sae(roles.slave).kme;
  if (session.target.kmes.length < 2) add(run, 'C11', skipped('target_KME_ID: the target lists one KME, so the slave’s KME cannot be known'));
  else add(run, 'C11', status.target_KME_ID === slaveKme ? passed(`target_KME_ID ${slaveKme}`, entry) : failed(`${show('target_KME_ID', status.target_KME_ID)}, but the slave ${roles.slave} is on ${slaveKme}`, entry));
}

// ---- C4, C15 ---------------------------------------------------------------------------------------------

export function percentEncodeAll(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

export async function checkPathDecoding(run: Run): Promise<void> {
  const { session, roles } = run;
  if (run.params === null) return add(run, 'C4', skipped('the plain status request gave no usable status'));
  const master = session.sae(roles.master);
  const path = `/api/v1/keys/${percentEncodeAll(roles.slave)}/status`;
  const entry = await session.send({ kmeUrl: session.kmeUrl(master.kme), sae: master, method: 'GET', path });
  const slave = readStatus(entry.response.json).fields.slave_SAE_ID;
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

/**
 * C15. The spec names no status for an unknown slave: 400, 401 and 404 are all refusals real KMEs give
 * (docs/checker-latitude.md). A KME that accepts the request is not judged here: keys for nobody are a
 * defect only if they then reach someone, which the invariants judge.
 */
function unknownSlave(label: string, entry: TranscriptEntry): Case {
  const { status, failure } = entry.response;
  if (failure !== undefined || status === 503) return skipped(`${label}: ${describe(entry)}`, entry);
  if (status === 400 || status === 401 || status === 404) return passed(`${label}: ${status}`, entry);
  if (status === 200) return skipped(`${label}: accepted (the spec leaves unknown slaves open)`, entry);
  return failed(`${label}: answered ${describe(entry)}, where a refusal is 400, 401 or 404`, entry);
}

export async function checkUnknownSlave(run: Run): Promise<void> {
  const { session, roles } = run;
  const status = await session.status(roles.master, UNKNOWN_SAE);
  add(run, 'C15', unknownSlave(`status for unknown slave ${UNKNOWN_SAE}`, status));
  const master = session.sae(roles.master);
  const enc = await session.send({ kmeUrl: session.kmeUrl(master.kme), sae: master, method: 'POST', path: `/api/v1/keys/${UNKNOWN_SAE}/enc_keys`, body: '{}' });
  if (keysOf(enc) !== null) run.encs.push({ entry: enc, sizeBits: run.params?.keySize });
  add(run, 'C15', unknownSlave(`enc_keys for unknown slave ${UNKNOWN_SAE}`, enc));
}
