// Phase 1 of a check: conformance. Drives the target through every item of the ETSI014.md checklist that
// black-box traffic can show and judges each one pass, fail or skip, with the exchanges that show it.
// The target was written by someone else, so a check fails only on what the specification fixes, and
// accepts every answer the spec leaves open (docs/checker-latitude.md): which KME serves dec_keys, key
// order, the status of a refusal where the spec names none, refills between calls, validation order.
// Every enc_keys and dec_keys goes through the session, so the invariant checkers judge this traffic too.
// Items that take the target's keys away or change its state (the drain) run only when allowed.
import { PROFILES, strictProfile } from '../model/profiles.js';
import type { ConformanceResult, SkippedItem } from './checkReport.js';
import { BudgetExhausted } from './checkContext.js';
import type { CheckSession } from './checkSession.js';
import { CHECKER_ITEMS, type ChecklistItem } from './checklist.js';
import { chooseRoles, conclude, skipped, type Run } from './conformance/conformanceRun.js';
import { checkDrain } from './conformance/drainItems.js';
import { checkBadRequests, checkExtensions, checkGetKey, checkMulticast, type Issued } from './conformance/keyItems.js';
import { probeConcurrentRetrieval, probeIdentity, probeMasterRead, probeSelfSlave } from './conformance/probeItems.js';
import { checkKeyIdLists, checkRetrieval } from './conformance/retrievalItems.js';
import { checkPathDecoding, checkStatus, checkUnknownSlave } from './conformance/statusItems.js';
import { judgeTraffic } from './conformance/trafficItems.js';

export interface ConformanceOptions {
  /** Whether items that drain the target's pools may run. */
  readonly destructive: boolean;
}

export interface ConformanceOutcome {
  readonly results: ConformanceResult[];
  readonly skipped: SkippedItem[];
  /** The budget ran out before every item was judged. */
  readonly interrupted: boolean;
}

export async function runConformancePhase(session: CheckSession, options: ConformanceOptions = { destructive: true }): Promise<ConformanceOutcome> {
  const first = session.transcript.length;
  const { profile } = session.target;
  const known = PROFILES.get(profile) ?? strictProfile;
  const run: Run = {
    session,
    roles: chooseRoles(session),
    uuidIds: profile === 'strict',
    consumes: profile !== 'lenient',
    repeatGraceMs: session.target.limits.repeatGraceMs ?? 0,
    notFound: known.keyNotFound,
    params: null,
    statusFields: new Set(),
    cases: new Map(),
    encs: [],
    decs: [],
    sizeOfKey: new Map(),
    specStrings: [],
    statuses: [],
  };
  const skippedItems: SkippedItem[] = [];
  let interrupted = false;
  const steps: ReadonlyArray<() => Promise<unknown>> = [
    () => checkStatus(run),
    () => checkPathDecoding(run),
    () => checkUnknownSlave(run),
    async () => {
      const issued: Issued = await checkGetKey(run);
      await checkBadRequests(run);
      await checkExtensions(run);
      await checkMulticast(run);
      await checkRetrieval(run, issued);
    },
    () => checkKeyIdLists(run),
    () => probeIdentity(run),
    () => probeSelfSlave(run),
    () => probeMasterRead(run),
    () => probeConcurrentRetrieval(run),
    async () => {
      // The drain runs last of the whole check (runDrainItems), so it starves no later request of keys.
      if (options.destructive) {
        for (const item of ['C14', 'C31'] as const) run.cases.set(item, [skipped('judged by the drain at the end of the check')]);
        return;
      }
      const why = 'drains a pool of the target (takes every key it holds): run with --destructive to allow it';
      for (const item of ['C14', 'C31'] as const) run.cases.set(item, [skipped(`not run: ${why}`)]);
      skippedItems.push({ item: 'C14, C31 (the drain)', why });
    },
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      if (!(error instanceof BudgetExhausted)) throw error;
      interrupted = true;
      skippedItems.push({ item: 'conformance', why: 'the budget ran out before every item was judged' });
      break;
    }
  }
  judgeTraffic(run, session.transcript.slice(first));
  const results = CHECKER_ITEMS.map((item) => conclude(item, run.cases.get(item) ?? (interrupted ? [skipped('the budget ran out first')] : [])));
  return { results, skipped: skippedItems, interrupted };
}

/**
 * The drain (C14, C31), last of a check because it takes every key a pool holds: a fresh status, then
 * status and enc_keys in turn until the pool is empty. Returns the drain's verdicts for C14 and C31, and
 * for C17 where a request within max_key_per_request was refused on the way.
 */
export async function runDrainItems(session: CheckSession): Promise<ConformanceResult[]> {
  const { profile } = session.target;
  const run: Run = {
    session,
    roles: chooseRoles(session),
    uuidIds: profile === 'strict',
    consumes: profile !== 'lenient',
    repeatGraceMs: session.target.limits.repeatGraceMs ?? 0,
    notFound: (PROFILES.get(profile) ?? strictProfile).keyNotFound,
    params: null,
    statusFields: new Set(),
    cases: new Map(),
    encs: [],
    decs: [],
    sizeOfKey: new Map(),
    specStrings: [],
    statuses: [],
  };
  try {
    await checkStatus(run);
    await checkDrain(run);
  } catch (error) {
    if (!(error instanceof BudgetExhausted)) throw error;
    for (const item of ['C14', 'C31'] as const) if (!run.cases.has(item)) run.cases.set(item, [skipped('the budget ran out before the drain')]);
  }
  const drained: ChecklistItem[] = ['C14', 'C31', ...(run.cases.get('C17')?.some((c) => c.verdict === 'fail') === true ? (['C17'] as const) : [])];
  return drained.map((item) => conclude(item, run.cases.get(item) ?? []));
}
