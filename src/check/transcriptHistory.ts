// The history a violation found in the conformance phase may depend on: the requests it names, every
// earlier request that carried one of its keys, every enc_keys of the same master→slave pair since the
// first of those (a later delivery may be what dropped a key), and restarts. Shrinking by replay then keeps
// only what the violation needs, so nothing that caused it is dropped beforehand for not naming its key.
import type { CheckSession, SessionViolation, TranscriptEntry } from './checkSession.js';

function textOf(entry: TranscriptEntry): string {
  const body = entry.request.body === undefined ? '' : typeof entry.request.body === 'string' ? entry.request.body : entry.request.body.raw;
  return `${entry.request.path} ${body} ${entry.response.text}`;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export function causalHistory(session: CheckSession, found: SessionViolation): TranscriptEntry[] {
  const last = Math.max(...found.entries);
  const named = session.transcript.filter((entry) => found.entries.includes(entry.id));
  const keyIds = new Set<string>();
  if (typeof found.evidence['keyId'] === 'string') keyIds.add(found.evidence['keyId']);
  for (const entry of named) {
    const meaning = entry.meaning;
    if (meaning.op === 'dec') for (const id of meaning.keyIds) keyIds.add(id);
    for (const id of `${entry.request.path} ${typeof entry.request.body === 'string' ? entry.request.body : ''}`.match(UUID) ?? []) keyIds.add(id);
  }
  const mentions = (entry: TranscriptEntry): boolean => [...keyIds].some((id) => textOf(entry).includes(id));
  const carrying = session.transcript.filter((entry) => entry.id <= last && mentions(entry));
  const from = Math.min(...carrying.map((entry) => entry.id), ...found.entries);
  const pairs = new Set(
    carrying.flatMap((entry) => (entry.meaning.op === 'enc' ? [`${entry.meaning.master}>${entry.meaning.slave}`] : entry.meaning.op === 'dec' ? [`${entry.meaning.master}>${entry.meaning.caller}`] : [])),
  );
  return session.transcript.filter((entry) => {
    if (entry.id > last || entry.id < from) return false;
    if (found.entries.includes(entry.id) || mentions(entry) || entry.meaning.op === 'restart') return true;
    return entry.meaning.op === 'enc' && pairs.has(`${entry.meaning.master}>${entry.meaning.slave}`) && entry.response.status === 200;
  });
}
