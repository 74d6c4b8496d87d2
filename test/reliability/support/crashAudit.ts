// The crash suite's audit: judges a recorded history of requests to `serve --db` (killed and restarted
// many times) and the server's pool counts, claiming only what the recorded answers prove.
// - A request without an answer may or may not have run: its keys (enc_keys) are reserved-but-unknown,
//   its dec_keys may have consumed what it named.
// - I1: a key ID answered by enc_keys twice, two keys with the same material, or a key answered to its
//   slave twice.
// - I2: a key answered by enc_keys that its slave asked for (with nothing unanswered before) and was
//   refused, or that was never shown retrievable at all.
// - I4: a retrieved key with other bytes than its master got.
// - I8: per pool, generated = stored + reserved + consumed + expired + discarded, and the counts agree
//   with the answers: every answered retrieval is consumed, nothing else is, and the keys still reserved
//   are no more than the unanswered enc_keys asked for.
import { linkIdOf, poolIdOf } from '../../../src/model/world.js';
import { keysInAnswer, type CrashRecord } from './crashHistory.js';

export interface PoolCounts {
  readonly id: string;
  readonly stored: number;
  readonly reserved: number;
  readonly consumed: number;
  readonly expired: number;
  readonly discarded: number;
  readonly generated: number;
}

export interface CrashFinding {
  readonly invariant: 'I1' | 'I2' | 'I4' | 'I8' | 'I9' | 'I13';
  readonly message: string;
}

interface KnownKey {
  readonly keyId: string;
  readonly master: string;
  readonly slave: string;
  readonly poolId: string;
  readonly material: string;
  readonly encSeq: number;
  /** Answered 200 by dec_keys to its slave (the seq of the first one). */
  retrievedIn: number | null;
  /** A dec_keys naming it got no answer: it may have been consumed then. */
  doubtful: boolean;
}

export interface CrashAudit {
  readonly findings: CrashFinding[];
  readonly keysDelivered: number;
  readonly keysRetrieved: number;
  /** Keys whose dec_keys lost its answer and that a later request could no longer retrieve (consumed then). */
  readonly keysConsumedUnanswered: number;
  readonly unansweredEnc: number;
  readonly unansweredDec: number;
  /** Keys the server still holds reserved that no answer named: from enc_keys whose answer was lost. */
  readonly reservedUnknown: number;
}

/** The pool a key from `master` to `slave` is drawn from (the master asks its own KME). */
export function poolOfPair(kmeOf: ReadonlyMap<string, string>, master: string, slave: string): string {
  return poolIdOf(linkIdOf(kmeOf.get(master) as string, kmeOf.get(slave) as string), slave);
}

const MIN_BITS_FOR_MATERIAL_CHECK = 64;
const DEFAULT_KEY_SIZE_BITS = 256;

export function auditCrashHistory(records: readonly CrashRecord[], kmeOf: ReadonlyMap<string, string>, pools: readonly PoolCounts[]): CrashAudit {
  const findings: CrashFinding[] = [];
  const known = new Map<string, KnownKey>();
  const materialOwner = new Map<string, string>();
  const unknownAllowance = new Map<string, number>();
  let unansweredEnc = 0;
  let unansweredDec = 0;

  for (const record of records) {
    const { request, outcome } = record;
    if (outcome.answered && outcome.status >= 500 && outcome.status !== 503) {
      findings.push({ invariant: 'I13', message: `request ${record.seq} (${request.method} ${request.path}) answered ${outcome.status}` });
    }
    if (outcome.answered && outcome.status === 200 && (typeof outcome.body !== 'object' || outcome.body === null)) {
      findings.push({ invariant: 'I13', message: `request ${record.seq} answered 200 with a body that is not JSON` });
    }
    if (request.op === 'enc') {
      const poolId = poolOfPair(kmeOf, request.caller, request.peer);
      if (!outcome.answered) {
        if (!outcome.refused) {
          unansweredEnc += 1;
          unknownAllowance.set(poolId, (unknownAllowance.get(poolId) ?? 0) + (request.number ?? 1));
        }
        continue;
      }
      for (const key of keysInAnswer(outcome)) {
        const earlier = known.get(key.key_ID);
        if (earlier !== undefined) {
          findings.push({ invariant: 'I1', message: `key ${key.key_ID} was answered by enc_keys twice (requests ${earlier.encSeq} and ${record.seq})` });
          continue;
        }
        const sizeBits = Buffer.from(key.key, 'base64').length * 8;
        const expected = request.sizeBits ?? DEFAULT_KEY_SIZE_BITS;
        if (sizeBits !== expected) findings.push({ invariant: 'I9', message: `key ${key.key_ID} has ${sizeBits} bits where ${expected} were asked for (request ${record.seq})` });
        const owner = materialOwner.get(key.key);
        if (owner !== undefined && sizeBits >= MIN_BITS_FOR_MATERIAL_CHECK) {
          findings.push({ invariant: 'I1', message: `key ${key.key_ID} carries the same material as key ${owner} (request ${record.seq})` });
        }
        materialOwner.set(key.key, key.key_ID);
        known.set(key.key_ID, { keyId: key.key_ID, master: request.caller, slave: request.peer, poolId, material: key.key, encSeq: record.seq, retrievedIn: null, doubtful: false });
      }
      continue;
    }
    if (request.op !== 'dec') continue;
    const ids = request.keyIds ?? [];
    const named = ids.map((id) => known.get(id));
    if (!outcome.answered) {
      if (!outcome.refused) {
        unansweredDec += 1;
        for (const key of named) if (key !== undefined) key.doubtful = true;
      }
      continue;
    }
    if (outcome.status === 200) {
      const returned = keysInAnswer(outcome);
      if (returned.length !== ids.length || returned.some((key, i) => key.key_ID !== ids[i])) {
        findings.push({ invariant: 'I2', message: `dec_keys request ${record.seq} answered 200 with other keys than the ones asked for` });
      }
      for (const key of returned) {
        const held = known.get(key.key_ID);
        if (held === undefined) continue;
        if (held.slave !== request.caller || held.master !== request.peer) continue;
        if (held.retrievedIn !== null) {
          findings.push({ invariant: 'I1', message: `key ${key.key_ID} was answered to its slave ${request.caller} twice (requests ${held.retrievedIn} and ${record.seq})` });
          continue;
        }
        if (key.key !== held.material) findings.push({ invariant: 'I4', message: `key ${key.key_ID} reached its slave with other bytes than its master got (request ${record.seq})` });
        held.retrievedIn = record.seq;
      }
      continue;
    }
    if (outcome.status === 503) continue;
    // A refusal proves a loss only when every key named was the caller's to take and certainly still there.
    const rightful = named.every((key) => key !== undefined && key.slave === request.caller && key.master === request.peer && key.retrievedIn === null && !key.doubtful);
    if (rightful && new Set(ids).size === ids.length && outcome.status >= 400 && outcome.status < 500) {
      for (const key of named as KnownKey[]) {
        findings.push({ invariant: 'I2', message: `key ${key.keyId}, answered to ${key.master} for ${key.slave} in request ${key.encSeq}, was refused to its slave with ${outcome.status} in request ${record.seq}` });
      }
    }
  }

  let retrievedCount = 0;
  let consumedUnanswered = 0;
  const perPool = new Map<string, { retrieved: number; doubtfulGone: number; delivered: number }>();
  for (const key of known.values()) {
    const tally = perPool.get(key.poolId) ?? { retrieved: 0, doubtfulGone: 0, delivered: 0 };
    perPool.set(key.poolId, tally);
    tally.delivered += 1;
    if (key.retrievedIn !== null) {
      tally.retrieved += 1;
      retrievedCount += 1;
    } else if (key.doubtful) {
      tally.doubtfulGone += 1;
      consumedUnanswered += 1;
    } else {
      findings.push({ invariant: 'I2', message: `key ${key.keyId}, answered to ${key.master} for ${key.slave} in request ${key.encSeq}, was never retrieved by its slave` });
    }
  }

  let reservedUnknown = 0;
  const poolIds = new Set([...pools.map((pool) => pool.id), ...perPool.keys()]);
  for (const id of poolIds) {
    const pool = pools.find((candidate) => candidate.id === id);
    if (pool === undefined) {
      findings.push({ invariant: 'I8', message: `pool ${id} delivered keys but the server does not list it` });
      continue;
    }
    const accounted = pool.stored + pool.reserved + pool.consumed + pool.expired + pool.discarded;
    if (pool.generated !== accounted) findings.push({ invariant: 'I8', message: `pool ${id}: generated ${pool.generated}, but stored + reserved + consumed + expired + discarded = ${accounted}` });
    const tally = perPool.get(id) ?? { retrieved: 0, doubtfulGone: 0, delivered: 0 };
    if (pool.consumed < tally.retrieved) findings.push({ invariant: 'I8', message: `pool ${id}: ${tally.retrieved} keys were answered to their slaves but only ${pool.consumed} are counted consumed` });
    // Only keys someone named can be consumed: the answered ones and those of a dec_keys that lost its answer.
    if (pool.consumed > tally.retrieved + tally.doubtfulGone) {
      findings.push({ invariant: 'I8', message: `pool ${id}: ${pool.consumed} keys counted consumed, but only ${tally.retrieved + tally.doubtfulGone} were asked for by their slaves` });
    }
    // A key asked for whose answer was lost and that is no longer there was consumed, or has expired or been discarded.
    if (pool.consumed + pool.expired + pool.discarded < tally.retrieved + tally.doubtfulGone) {
      findings.push({ invariant: 'I8', message: `pool ${id}: ${tally.retrieved + tally.doubtfulGone} keys are gone to their slaves, but consumed + expired + discarded is ${pool.consumed + pool.expired + pool.discarded}` });
    }
    const allowance = unknownAllowance.get(id) ?? 0;
    if (pool.reserved > allowance) {
      findings.push({ invariant: 'I8', message: `pool ${id}: ${pool.reserved} keys still reserved, but unanswered enc_keys asked for only ${allowance} (every answered key has been retrieved)` });
    }
    reservedUnknown += pool.reserved;
  }

  return {
    findings,
    keysDelivered: known.size,
    keysRetrieved: retrievedCount,
    keysConsumedUnanswered: consumedUnanswered,
    unansweredEnc,
    unansweredDec,
    reservedUnknown,
  };
}

/** The keys the final pass must ask for: answered to a master and not yet answered to its slave. */
export function keysToRetrieve(records: readonly CrashRecord[]): Array<{ keyId: string; master: string; slave: string }> {
  const waiting = new Map<string, { keyId: string; master: string; slave: string }>();
  for (const { request, outcome } of records) {
    if (request.op === 'enc') for (const key of keysInAnswer(outcome)) if (!waiting.has(key.key_ID)) waiting.set(key.key_ID, { keyId: key.key_ID, master: request.caller, slave: request.peer });
    if (request.op === 'dec') for (const key of keysInAnswer(outcome)) if (waiting.get(key.key_ID)?.slave === request.caller) waiting.delete(key.key_ID);
  }
  return [...waiting.values()];
}

/** Counts that only grow: whatever a state read showed before a kill must be there after the restart. */
export function compareAcrossRestart(before: readonly PoolCounts[], after: readonly PoolCounts[]): CrashFinding[] {
  const findings: CrashFinding[] = [];
  for (const old of before) {
    const now = after.find((pool) => pool.id === old.id);
    if (now === undefined) {
      findings.push({ invariant: 'I8', message: `pool ${old.id} is gone after the restart` });
      continue;
    }
    for (const field of ['generated', 'consumed', 'expired', 'discarded'] as const) {
      if (now[field] < old[field]) findings.push({ invariant: 'I8', message: `pool ${old.id}: ${field} fell from ${old[field]} to ${now[field]} across the restart` });
    }
    // Keys that left the store (delivered, expired, discarded) never come back.
    if (now.generated - now.stored < old.generated - old.stored) {
      findings.push({ invariant: 'I8', message: `pool ${old.id}: keys out of the store fell from ${old.generated - old.stored} to ${now.generated - now.stored} across the restart (a delivered key returned to the pool)` });
    }
  }
  return findings;
}
