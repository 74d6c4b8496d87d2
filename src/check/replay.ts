// Replays a transcript against the target on fresh keys and judges it again: each enc_keys is sent as it
// was, and later requests name the keys it delivers this time in place of the recorded ones (by their
// place in the answer). Used to shrink a violation's history to the requests it needs, and to measure how
// often the shrunk transcript reproduces the violation (a live target's answers may differ from run to run).
import type { CheckContext } from './checkContext.js';
import { createCheckSession, type BurstRequest, type CheckSession, type TranscriptEntry } from './checkSession.js';
import type { Target } from './targetSchema.js';
import { groupOf } from './violationGroups.js';
import { adminCall } from './workload.js';

function keyIdsOf(entry: TranscriptEntry): string[] {
  const keys = (entry.response.json as { keys?: Array<{ key_ID?: unknown }> } | undefined)?.keys;
  return entry.response.status === 200 && Array.isArray(keys) ? keys.map((key) => (typeof key?.key_ID === 'string' ? key.key_ID : '')) : [];
}

/** Runs of consecutive entries: one entry, or every entry of one concurrent burst. */
function batches(entries: readonly TranscriptEntry[]): TranscriptEntry[][] {
  const out: TranscriptEntry[][] = [];
  for (const entry of entries) {
    const last = out.at(-1);
    if (last !== undefined && entry.burst !== undefined && last[0]?.burst === entry.burst) last.push(entry);
    else out.push([entry]);
  }
  return out;
}

async function replayBatch(session: CheckSession, batch: readonly TranscriptEntry[], ids: Map<string, string>): Promise<void> {
  const map = (id: string): string => ids.get(id) ?? id;
  const learn = (original: TranscriptEntry, fresh: TranscriptEntry): void => {
    const before = keyIdsOf(original);
    const now = keyIdsOf(fresh);
    before.forEach((id, i) => {
      const next = now[i];
      if (id !== '' && next !== undefined && next !== '') ids.set(id, next);
    });
  };
  const first = batch[0];
  if (first === undefined) return;
  if (batch.length > 1) {
    const requests: BurstRequest[] = batch.flatMap((entry): BurstRequest[] => {
      const m = entry.meaning;
      if (m.op === 'enc') return [{ kind: 'enc', master: m.master, slave: m.slave, request: m.request }];
      if (m.op === 'dec') return [{ kind: 'dec', caller: m.caller, master: m.master, keyIds: m.keyIds.map(map), kme: m.kme }];
      return [];
    });
    const fresh = await session.burst(requests);
    batch.forEach((entry, i) => {
      const again = fresh[i];
      if (again !== undefined) learn(entry, again);
    });
    return;
  }
  const m = first.meaning;
  switch (m.op) {
    case 'enc':
      learn(first, await session.enc(m.master, m.slave, m.request, m.method));
      return;
    case 'dec':
      await session.dec(m.caller, m.master, m.keyIds.map(map), { kme: m.kme, method: m.method });
      return;
    case 'status':
      await session.status(m.master, m.slave);
      return;
    case 'restart': {
      const entry = await adminCall(session, '/faults', { restart: { kme: m.kme, downtimeMs: 0 } }, m);
      if (entry !== null && entry.response.status === 200) session.restarted(m.kme);
      return;
    }
    case 'raw': {
      const { request } = first;
      const swap = (text: string): string => [...ids].reduce((acc, [before, after]) => acc.split(before).join(after), text);
      const body = request.body === undefined ? undefined : typeof request.body === 'string' ? swap(request.body) : { ...request.body, raw: swap(request.body.raw) };
      await session.send({ kmeUrl: request.kmeUrl, sae: request.sae, method: request.method, path: swap(request.path), ...(body === undefined ? {} : { body }) });
      return;
    }
  }
}

export type Replayed = 'reproduced' | 'not-reproduced' | 'inconclusive';

/**
 * Replays these entries on fresh keys. Inconclusive when an enc_keys that delivered keys then delivered
 * none now (the target had run out): the history could not be played again as it was.
 */
export async function replayOnce(target: Target, context: CheckContext, entries: readonly TranscriptEntry[], group: string | ((group: string) => boolean), names: readonly string[]): Promise<Replayed> {
  const matches = typeof group === 'string' ? (other: string) => other === group : group;
  const session = createCheckSession(target, context);
  const ids = new Map<string, string>();
  for (const batch of batches(entries)) await replayBatch(session, batch, ids);
  if (session.violations.some((found) => matches(groupOf(found, names)))) return 'reproduced';
  const starved = entries.some((entry) => entry.meaning.op === 'enc' && entry.response.status === 200 && keyIdsOf(entry).some((id) => !ids.has(id)));
  return starved ? 'inconclusive' : 'not-reproduced';
}

/** Pauses between replays that found the target out of keys: it may refill in the background. */
const STARVED_BACKOFF_MS = [250, 500, 1_000, 2_000] as const;

/**
 * Whether replaying these entries on fresh keys shows a violation of the group again. A replay that finds
 * the target out of keys is tried again after a pause (a few times, within the budget), since a KME that
 * refills in the background is not judged by a pool the check itself just emptied.
 */
export async function reproduces(target: Target, context: CheckContext, entries: readonly TranscriptEntry[], group: string | ((group: string) => boolean), names: readonly string[]): Promise<boolean> {
  for (const pause of [0, ...STARVED_BACKOFF_MS]) {
    if (pause > 0) {
      if (performance.now() + pause >= context.deadlineAt) return false;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    const outcome = await replayOnce(target, context, entries, group, names);
    if (outcome !== 'inconclusive') return outcome === 'reproduced';
  }
  return false;
}

/**
 * The fewest of these entries that still reproduce the group: each entry (a burst as a whole) is left out
 * in turn and stays out when the rest still shows the violation. A race that does not reproduce every time
 * only keeps entries it did not need, never loses one it needs.
 */
export async function shrinkTranscript(target: Target, context: CheckContext, entries: readonly TranscriptEntry[], group: string | ((group: string) => boolean), names: readonly string[]): Promise<TranscriptEntry[]> {
  let current = batches(entries);
  for (let i = 0; i < current.length && current.length > 1; ) {
    const candidate = [...current.slice(0, i), ...current.slice(i + 1)];
    if (await reproduces(target, context, candidate.flat(), group, names)) current = candidate;
    else i += 1;
  }
  return current.flat();
}

/** The groups of every violation a replay of these entries shows (none when it was inconclusive). */
export async function groupsShown(target: Target, context: CheckContext, entries: readonly TranscriptEntry[], names: readonly string[]): Promise<string[]> {
  const session = createCheckSession(target, context);
  const ids = new Map<string, string>();
  for (const batch of batches(entries)) await replayBatch(session, batch, ids);
  return session.violations.map((found) => groupOf(found, names));
}
