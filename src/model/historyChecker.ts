// Judges invariants I1–I5, I7 and I9 from what a client can observe: each enc_keys and dec_keys exchange,
// its status code and the keys it returned. It knows nothing of the KME's insides, so the simulator, the
// property tests and the black-box HTTP checker all use it. It is incremental: feed exchanges in the order
// their responses arrived and it returns the violations each one shows.
import { IdSet } from './idSet.js';
import { violation, type Violation } from './violation.js';

export interface ObservedKey {
  readonly keyId: string;
  /** A digest of the key bytes (never the bytes themselves), e.g. from hashKeyBytes. */
  readonly materialHash: string;
  readonly sizeBits: number;
}

export type Exchange =
  | {
      readonly op: 'enc';
      readonly id: number;
      readonly atMs: number;
      readonly kmeId: string;
      readonly callerSaeId: string;
      readonly slaveSaeId: string;
      readonly additionalSlaveSaeIds: readonly string[];
      /** The size the caller asked for, or the KME's announced key_size when it asked for none. */
      readonly expectedSizeBits: number | undefined;
      readonly status: number;
      readonly keys: readonly ObservedKey[];
    }
  | {
      readonly op: 'dec';
      readonly id: number;
      readonly atMs: number;
      readonly kmeId: string;
      readonly callerSaeId: string;
      readonly masterSaeId: string;
      readonly keyIds: readonly string[];
      readonly status: number;
      readonly keys: readonly ObservedKey[];
      /**
       * Whether the KME asked had to serve this caller. False where the spec leaves it open, e.g. a KME the
       * caller is not attached to (only the slave's own KME must answer dec_keys): a refusal there is no
       * loss. Default true.
       */
      readonly obliged?: boolean;
    }
  /** The keys waiting for this slave were legitimately discarded (the SAE was deleted). */
  | { readonly op: 'discard'; readonly id: number; readonly atMs: number; readonly saeId: string }
  /** A KME restarted: a key that goes missing after this was lost by the restart, whatever came before (I2). */
  | { readonly op: 'restart'; readonly id: number; readonly atMs: number; readonly kmeId: string };

export interface HistoryCheckerOptions {
  /** Keys older than this may have expired, so their loss is not judged. Unknown: never expires. */
  readonly keyTtlMs?: number;
  /** False for KMEs documented to leave keys retrievable after dec_keys (compat profiles). */
  readonly consumeOnDecrypt?: boolean;
  /**
   * Count enc_keys per master→slave pair, so that a lost key is blamed on a refused dec_keys (I7) only
   * when no later enc_keys of its pair could have dropped it. Off by default (the simulator's model sees
   * the cause itself, and the count costs a map entry per pair); the black-box checker turns it on.
   */
  readonly attributeLosses?: boolean;
  /**
   * Whether a master may read back the key it was issued through dec_keys. The spec is silent and some
   * KMEs allow it (the black-box checker accepts it); kmesim's profiles refuse it, so in its own runs a
   * master that got its key back is an I5. Default false.
   */
  readonly masterMayReadBack?: boolean;
  /**
   * True when every ObservedKey's materialHash names its key ID too (the engine names material by
   * (label, key ID, size)): then material never seen before is implied by a key ID never seen before, and
   * the checker keeps no index of material. Default false (real bytes, as the black-box checker sees them).
   */
  readonly materialNamesKeyId?: boolean;
  /**
   * A KME that answers a repeated dec_keys idempotently (LATITUDE.md: "retry after a lost answer"): a slave
   * that asks again for a key it retrieved at most this long ago may get the same bytes again. Default 0:
   * every second retrieval is an I3.
   */
  readonly repeatGraceMs?: number;
}

interface IssuedKey {
  readonly keyId: string;
  readonly masterSaeId: string;
  readonly slaveSaeIds: readonly string[];
  readonly materialHash: string;
  readonly issuedBy: number;
  readonly issuedAtMs: number;
  /** Slave → the exchange that retrieved it; null until a first retrieval (most keys retire at once). */
  retrievedBy: Map<string, number> | null;
  /** A refused dec_keys that named this key by a rightful slave: if the key is gone later, it may be why. */
  refusedIn: { readonly exchange: number } | null;
  /** Restarts observed when the key was issued: a loss after a later restart is the restart's doing. */
  readonly restartsAtIssue: number;
  /** Successful enc_keys of the pair (master → first slave) up to and including the one that issued it. */
  readonly pairEncsAtIssue: number;
}

export interface HistoryChecker {
  observe(exchange: Exchange): Violation[];
  /** Keys delivered to a master that some named slave has not yet retrieved. */
  pendingKeys(): Array<{ keyId: string; masterSaeId: string; slaveSaeIds: readonly string[]; waitingFor: string[]; issuedAtMs: number }>;
}

const SUCCESS = 200;
const MIN_BITS_FOR_MATERIAL_CHECK = 64;

export function createHistoryChecker(options: HistoryCheckerOptions = {}): HistoryChecker {
  // Full records only for keys some slave may still fetch; the rest is remembered compactly, which is
  // enough to catch a key delivered again (I1) or retrieved again after its last slave had it (I3).
  const issued = new Map<string, IssuedKey>();
  const materialOwner = new Map<string, string>();
  const retrievedByAll = new IdSet();
  const outOfPlay = new IdSet();
  const retiredMaterial = new IdSet();
  const consumeOnDecrypt = options.consumeOnDecrypt ?? true;
  const indexMaterial = options.materialNamesKeyId !== true;
  const repeatGraceMs = options.repeatGraceMs ?? 0;
  /** Retrievals a repeat may still get again (only with a repeat grace), oldest first. */
  const recentRetrievals = new Map<string, { readonly atMs: number; readonly masterSaeId: string; readonly materialHash: string }>();
  const recentKey = (keyId: string, slave: string): string => `${keyId}\u0000${slave}`;
  let observed = 0;
  let restarts = 0;
  /** Successful enc_keys per master→slave pair: a later one may have dropped the pair's earlier keys. */
  const pairEncs = new Map<string, number>();
  const pairOf = (master: string, slave: string): string => `${master}\u0000${slave}`;
  const pairEncsOf = (key: IssuedKey): number => (options.attributeLosses === true ? (pairEncs.get(pairOf(key.masterSaeId, key.slaveSaeIds[0] ?? '')) ?? 0) : 0);

  /** A key leaves the full records: retrieved by every slave, or expired or discarded (no longer judged). */
  const retire = (key: IssuedKey, how: 'retrieved' | 'gone'): void => {
    issued.delete(key.keyId);
    (how === 'retrieved' ? retrievedByAll : outOfPlay).add(key.keyId);
    if (indexMaterial && materialOwner.get(key.materialHash) === key.keyId) {
      materialOwner.delete(key.materialHash);
      retiredMaterial.add(key.materialHash);
    }
  };
  const sweepExpired = (atMs: number): void => {
    if (options.keyTtlMs === undefined) return;
    // Issue order is (nearly) time order: stop at the first key still alive.
    for (const key of issued.values()) {
      if (key.issuedAtMs + options.keyTtlMs > atMs) break;
      retire(key, 'gone');
    }
  };

  const mayHaveExpired = (key: IssuedKey, atMs: number): boolean =>
    options.keyTtlMs !== undefined && atMs >= key.issuedAtMs + options.keyTtlMs;

  function observeEnc(exchange: Extract<Exchange, { op: 'enc' }>): Violation[] {
    if (exchange.status !== SUCCESS) return [];
    if (options.attributeLosses === true) {
      const pair = pairOf(exchange.callerSaeId, exchange.slaveSaeId);
      pairEncs.set(pair, (pairEncs.get(pair) ?? 0) + 1);
    }
    const found: Violation[] = [];
    for (const key of exchange.keys) {
      const earlier = issued.get(key.keyId);
      if (earlier !== undefined || retrievedByAll.has(key.keyId) || outOfPlay.has(key.keyId)) {
        found.push(
          violation('I1', `key ${key.keyId} was delivered by enc_keys twice`, {
            keyId: key.keyId,
            firstExchange: earlier?.issuedBy ?? 'an earlier exchange (since retired)',
            againInExchange: exchange.id,
          }),
        );
        continue;
      }
      // Short keys collide by chance (two random 8-bit keys agree one time in 256): identical bytes are
      // evidence of reuse only where a chance collision is negligible.
      const checked = indexMaterial && key.sizeBits >= MIN_BITS_FOR_MATERIAL_CHECK;
      const owner = !checked ? undefined : (materialOwner.get(key.materialHash) ?? (retiredMaterial.has(key.materialHash) ? 'a retired key' : undefined));
      if (owner !== undefined) {
        found.push(
          violation('I1', `key ${key.keyId} carries the same material as key ${owner}`, {
            keyId: key.keyId,
            sameMaterialAs: owner,
            exchange: exchange.id,
          }),
        );
      }
      if (exchange.expectedSizeBits !== undefined && key.sizeBits !== exchange.expectedSizeBits) {
        found.push(
          violation('I9', `key ${key.keyId} has ${key.sizeBits} bits where ${exchange.expectedSizeBits} were asked for`, {
            keyId: key.keyId,
            sizeBits: key.sizeBits,
            expectedSizeBits: exchange.expectedSizeBits,
            exchange: exchange.id,
          }),
        );
      }
      if (checked) materialOwner.set(key.materialHash, key.keyId);
      issued.set(key.keyId, {
        keyId: key.keyId,
        masterSaeId: exchange.callerSaeId,
        slaveSaeIds: exchange.additionalSlaveSaeIds.length === 0 ? [exchange.slaveSaeId] : [exchange.slaveSaeId, ...exchange.additionalSlaveSaeIds],
        materialHash: key.materialHash,
        issuedBy: exchange.id,
        issuedAtMs: exchange.atMs,
        retrievedBy: null,
        refusedIn: null,
        restartsAtIssue: restarts,
        pairEncsAtIssue: options.attributeLosses === true ? (pairEncs.get(pairOf(exchange.callerSaeId, exchange.slaveSaeId)) ?? 0) : 0,
      });
    }
    return found;
  }

  function observeDec(exchange: Extract<Exchange, { op: 'dec' }>): Violation[] {
    const found: Violation[] = [];
    // A request the KME had to honour: every key known, issued under this master, naming this caller,
    // not yet retrieved by it, not possibly expired, no ID repeated. (Discarded keys are no longer here.)
    const rightful = (key: IssuedKey | undefined): key is IssuedKey =>
      key !== undefined &&
      key.masterSaeId === exchange.masterSaeId &&
      key.slaveSaeIds.includes(exchange.callerSaeId) &&
      (!consumeOnDecrypt || key.retrievedBy?.has(exchange.callerSaeId) !== true) &&
      !mayHaveExpired(key, exchange.atMs);

    if (exchange.status === SUCCESS) {
      if (!sameKeyIds(exchange.keys, exchange.keyIds)) {
        const returned = exchange.keys.map((key) => key.keyId);
        found.push(
          violation('I2', 'dec_keys answered 200 with other keys than the ones asked for', {
            requested: exchange.keyIds,
            returned,
            exchange: exchange.id,
          }),
        );
      }
      if (repeatGraceMs > 0) {
        for (const [id, recent] of recentRetrievals) {
          if (recent.atMs + repeatGraceMs >= exchange.atMs) break;
          recentRetrievals.delete(id);
        }
      }
      for (const key of exchange.keys) {
        const again = repeatGraceMs > 0 ? recentRetrievals.get(recentKey(key.keyId, exchange.callerSaeId)) : undefined;
        if (again !== undefined && again.masterSaeId === exchange.masterSaeId && exchange.atMs - again.atMs <= repeatGraceMs) {
          // A repeat within the grace: allowed, if it is the very key the slave had.
          if (key.materialHash !== again.materialHash) {
            found.push(violation('I4', `key ${key.keyId} came back to ${exchange.callerSaeId} on a repeated dec_keys with other bytes than before`, { keyId: key.keyId, againInExchange: exchange.id }));
          }
          continue;
        }
        const known = issued.get(key.keyId);
        if (known === undefined) {
          if (consumeOnDecrypt && retrievedByAll.has(key.keyId)) {
            found.push(
              violation('I3', `key ${key.keyId} was retrieved by ${exchange.callerSaeId} after every named slave had retrieved it`, {
                keyId: key.keyId,
                caller: exchange.callerSaeId,
                againInExchange: exchange.id,
                kme: exchange.kmeId,
              }),
            );
          }
          continue;
        }
        // A master may read back the key it was issued (some KMEs allow it): it learns nothing new, and
        // the read must not take the key from its slaves (judged when a slave asks).
        if (options.masterMayReadBack === true && exchange.callerSaeId === known.masterSaeId && exchange.masterSaeId === known.masterSaeId && !known.slaveSaeIds.includes(exchange.callerSaeId)) {
          if (key.materialHash !== known.materialHash) {
            found.push(violation('I4', `key ${key.keyId} came back to its master ${known.masterSaeId} with other bytes than it was issued with`, { keyId: key.keyId, issuedIn: known.issuedBy, retrievedIn: exchange.id }));
          }
          continue;
        }
        if (!known.slaveSaeIds.includes(exchange.callerSaeId) || known.masterSaeId !== exchange.masterSaeId) {
          found.push(
            violation('I5', `key ${key.keyId} reached ${exchange.callerSaeId}, who was not named as its slave under master ${exchange.masterSaeId}`, {
              keyId: key.keyId,
              caller: exchange.callerSaeId,
              namedSlaves: known.slaveSaeIds,
              master: known.masterSaeId,
              masterInRequest: exchange.masterSaeId,
              exchange: exchange.id,
            }),
          );
        } else if (consumeOnDecrypt && known.retrievedBy?.has(exchange.callerSaeId) === true) {
          found.push(
            violation('I3', `slave ${exchange.callerSaeId} retrieved key ${key.keyId} a second time`, {
              keyId: key.keyId,
              slave: exchange.callerSaeId,
              firstRetrieval: known.retrievedBy?.get(exchange.callerSaeId),
              againInExchange: exchange.id,
              kme: exchange.kmeId,
            }),
          );
        }
        if (key.materialHash !== known.materialHash) {
          found.push(
            violation('I4', `key ${key.keyId} reached its slave with other bytes than its master got`, {
              keyId: key.keyId,
              issuedIn: known.issuedBy,
              retrievedIn: exchange.id,
            }),
          );
        }
        if (repeatGraceMs > 0 && known.slaveSaeIds.includes(exchange.callerSaeId) && known.masterSaeId === exchange.masterSaeId) {
          recentRetrievals.set(recentKey(key.keyId, exchange.callerSaeId), { atMs: exchange.atMs, masterSaeId: known.masterSaeId, materialHash: known.materialHash });
        }
        if (consumeOnDecrypt && known.slaveSaeIds.length === 1 && known.slaveSaeIds[0] === exchange.callerSaeId) {
          retire(known, 'retrieved');
          continue;
        }
        const retrievedBy = (known.retrievedBy ??= new Map());
        if (!retrievedBy.has(exchange.callerSaeId)) retrievedBy.set(exchange.callerSaeId, exchange.id);
        if (consumeOnDecrypt && known.slaveSaeIds.every((slave) => retrievedBy.has(slave))) retire(known, 'retrieved');
      }
      return found;
    }

    const refused = exchange.status >= 400 && exchange.status < 500;
    // A KME that did not have to serve this caller may refuse it: no loss, and no blame for later ones.
    if (refused && exchange.obliged === false) return found;
    const requested = exchange.keyIds.map((id) => issued.get(id));
    const allRightful = requested.every(rightful) && new Set(exchange.keyIds).size === exchange.keyIds.length;
    if (refused && allRightful) {
      for (const key of requested as IssuedKey[]) found.push(lossOf(key, exchange));
      return found;
    }
    if (refused) {
      for (const key of requested) {
        if (rightful(key)) key.refusedIn ??= { exchange: exchange.id };
      }
    }
    return found;
  }

  /**
   * A key its slave had to get was refused. The cause is named only where the history singles it out: a
   * restart since the key was issued (I2 after a restart); a later enc_keys of its pair, which may have
   * dropped it (I2 after a later enc_keys); a refused dec_keys that named it with neither of those since it
   * was issued (I7); otherwise the loss itself (I2).
   */
  function lossOf(key: IssuedKey, exchange: Extract<Exchange, { op: 'dec' }>): Violation {
    const evidence = { keyId: key.keyId, issuedIn: key.issuedBy, refusedIn: exchange.id, status: exchange.status };
    if (restarts > key.restartsAtIssue) {
      return violation('I2', `key ${key.keyId}, delivered to ${key.masterSaeId} for ${exchange.callerSaeId}, could not be retrieved after a KME restart (status ${exchange.status})`, evidence);
    }
    const blame = key.refusedIn;
    const later = pairEncsOf(key) > key.pairEncsAtIssue;
    if (blame !== null && !later) {
      return violation('I7', `key ${key.keyId} was lost by the refused dec_keys of exchange ${blame.exchange}`, {
        keyId: key.keyId,
        issuedIn: key.issuedBy,
        refusedRequest: blame.exchange,
        laterRefusal: exchange.id,
      });
    }
    if (later) {
      return violation('I2', `key ${key.keyId}, delivered to ${key.masterSaeId} for ${exchange.callerSaeId}, could not be retrieved after a later enc_keys for the same pair (status ${exchange.status})`, {
        ...evidence,
        ...(blame === null ? {} : { refusedRequest: blame.exchange }),
      });
    }
    return violation('I2', `key ${key.keyId}, delivered to ${key.masterSaeId} for ${exchange.callerSaeId}, could not be retrieved (status ${exchange.status})`, evidence);
  }

  return {
    observe(exchange) {
      observed += 1;
      if (observed % 1024 === 0) sweepExpired(exchange.atMs);
      switch (exchange.op) {
        case 'enc':
          return observeEnc(exchange);
        case 'dec':
          return observeDec(exchange);
        case 'discard':
          for (const key of [...issued.values()]) if (key.slaveSaeIds.includes(exchange.saeId)) retire(key, 'gone');
          return [];
        case 'restart':
          restarts += 1;
          for (const key of issued.values()) key.refusedIn = null;
          return [];
      }
    },
    pendingKeys() {
      const pending = [];
      for (const key of issued.values()) {
        const waitingFor = key.slaveSaeIds.filter((slave) => key.retrievedBy?.has(slave) !== true);
        if (waitingFor.length > 0) {
          pending.push({ keyId: key.keyId, masterSaeId: key.masterSaeId, slaveSaeIds: key.slaveSaeIds, waitingFor, issuedAtMs: key.issuedAtMs });
        }
      }
      return pending;
    },
  };
}

/** Whether a dec_keys answer holds exactly the IDs asked for; the spec fixes no order, so any order is right. */
function sameKeyIds(keys: readonly ObservedKey[], asked: readonly string[]): boolean {
  if (keys.length !== asked.length) return false;
  let inOrder = true;
  for (let i = 0; i < keys.length && inOrder; i++) inOrder = keys[i]?.keyId === asked[i];
  if (inOrder) return true;
  const sorted = (ids: readonly string[]): string => JSON.stringify([...ids].sort());
  return sorted(keys.map((key) => key.keyId)) === sorted(asked);
}
