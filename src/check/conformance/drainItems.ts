// The drain, a destructive item: C14 and C31.
import type { TranscriptEntry } from '../checkSession.js';
import { add, containerSchema, describe, DRAIN_BYTES_MAX, DRAIN_REQUESTS_MAX, encOf, failed, messageOf, passed, readStatus, skipped, type Run } from './conformanceRun.js';

// ---- The drain: C14 C31 --------------------------------------------------------------------------------------

export function storedCount(entry: TranscriptEntry): number | null {
  const stored = readStatus(entry.response.json).fields.stored_key_count;
  return entry.response.status === 200 && stored !== undefined && stored >= 0 ? stored : null;
}

// Status may only be held to what it promised a moment ago: a target that refills in the background may
// show more keys than the last count minus the last delivery, so equality is never asserted. What is
// asserted is the other direction: an enc_keys for at most the keys a status has just shown must succeed
// (any refusal there, 503 or 400, is a C14 fail). Rounds of status → enc_keys(min(S, max_key_per_request))
// run until status shows 0, then enc_keys(1) must be refused with nothing delivered (C31: 503, or the 400
// or 404 other KMEs answer; the spec names no status). A 200 there is no verdict: the pool may have
// refilled between the two calls, which black-box traffic cannot tell from a status that under-reports, so
// C31 is skipped with the status that followed.
export async function checkDrain(run: Run): Promise<void> {
  const { session, roles, params } = run;
  if (params === null) {
    for (const item of ['C14', 'C31'] as const) add(run, item, skipped('no usable status to drain the pool by'));
    return;
  }
  if (params.maxKeyPerRequest === undefined) {
    for (const item of ['C14', 'C31'] as const) add(run, item, skipped('max_key_per_request missing or mistyped in status'));
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
    if (entry.response.status === 503 || (entry.response.status >= 400 && entry.response.status < 500 && keys === null)) {
      // The same request shape was served before; refused now, right after status promised the keys.
      add(run, 'C14', failed(`status showed ${stored} keys, then enc_keys for ${n} answered ${describe(entry)} (${summary()})`, status, entry));
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

export async function judgeEmpty(run: Run, status: TranscriptEntry, probe: TranscriptEntry, requests: number): Promise<void> {
  const { status: code, failure } = probe.response;
  if (failure !== undefined) return add(run, 'C31', skipped(`enc_keys(1) after status showed 0: ${describe(probe)}`, status, probe));
  if (code === 503 || ((code === 400 || code === 404) && messageOf(probe) !== undefined)) {
    const delivered = containerSchema.safeParse(probe.response.json).success;
    return add(run, 'C31', delivered ? failed(`status showed 0 keys; enc_keys(1) answered ${code} with a key container`, status, probe) : passed(`status showed 0 keys; enc_keys(1) answered ${code}`, status, probe));
  }
  if (code !== 200) return add(run, 'C31', failed(`status showed 0 keys; enc_keys(1) answered ${describe(probe)} where not enough keys is a refusal with an Error body`, status, probe));
  const after = requests < DRAIN_REQUESTS_MAX ? await run.session.status(run.roles.master, run.roles.slave) : null;
  if (after !== null) run.statuses.push(after);
  const now = after === null ? 'not asked' : (storedCount(after) ?? describe(after));
  add(run, 'C31', skipped(`status showed 0 keys, yet enc_keys(1) delivered one: the pool may have refilled in between (status now shows ${now})`, status, probe, ...(after === null ? [] : [after])));
}

