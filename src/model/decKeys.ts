// Get key with key IDs (dec_keys): the named slave retrieves what its master was given, once.
// Every ID is judged before anything changes, so a refused request consumes nothing (C38, I7). Under the
// profile's `retry: idempotent`, a slave that repeats a dec_keys within the grace (its answer was lost)
// gets the keys it retrieved again, and nothing changes; under `burn` the repeat is refused.
import { kmeError, shortId, unknownCaller, type KmeError } from './kmeError.js';
import { isCanonicalUuid, isSequentialKeyId } from './keyIds.js';
import { canStepKey, KEY_STATE_INDEX, stepKey } from './lifecycles.js';
import { materialLabelFor, type DeliveredKey } from './encKeys.js';
import { compactReservedQueue } from './poolOps.js';
import { recentRetrievalKey, type ReservedKey, type World } from './world.js';

export interface DecKeysCommand {
  readonly type: 'keys.dec';
  readonly kmeId: string;
  readonly callerSaeId: string;
  readonly masterSaeId: string;
  readonly keyIds: readonly string[];
}

export type DecKeysResult = { readonly ok: true; readonly keys: DeliveredKey[] } | { readonly ok: false; readonly error: KmeError };

function hasRetrieved(world: World, key: ReservedKey, saeId: string, kmeId: string): boolean {
  // The double-delivery bug keeps its consumption records per KME, so the other end still serves the key.
  const perKme = world.config.bugs.has('double-delivery');
  return key.retrievals.some((r) => r.saeId === saeId && (!perKme || r.kmeId === kmeId));
}

/** Whether this KME holds the key as consumed. Only the double-delivery bug keeps consumed keys, per KME. */
function isConsumedAt(world: World, key: ReservedKey, kmeId: string): boolean {
  if (key.state === KEY_STATE_INDEX.reserved) return false;
  if (!world.config.bugs.has('double-delivery')) return true;
  return key.slaveSaeIds.every((slave) => key.retrievals.some((r) => r.saeId === slave && r.kmeId === kmeId));
}

export function decKeys(world: World, command: DecKeysCommand): DecKeysResult {
  const { bugs, profile } = world.config;
  if (!world.saes.has(command.callerSaeId)) return { ok: false, error: unknownCaller(command.callerSaeId, command.kmeId) };
  const ids = command.keyIds;
  const wellFormed = profile.keyIdFormat === 'uuid' ? isCanonicalUuid : isSequentialKeyId;
  const malformed = ids.find((id) => !wellFormed(id));
  if (ids.length === 0 || malformed !== undefined || new Set(ids).size !== ids.length) {
    return { ok: false, error: kmeError('badKeyIds', malformed === undefined ? [] : [{ key_ID: malformed }]) };
  }

  forgetStaleRetrievals(world);
  // In request order: a key to retrieve now, or (retry `idempotent`) one this caller retrieved moments ago.
  const found: Array<ReservedKey | DeliveredKey> = [];
  const notFound: string[] = [];
  const forbidden: string[] = [];
  const servedHere = (linkId: string): boolean => world.links.get(linkId)?.kmeIds.includes(command.kmeId) === true;
  for (const id of ids) {
    const key = world.reserved.get(id);
    const again = world.recentRetrievals.get(recentRetrievalKey(id, command.callerSaeId));
    if (again !== undefined && again.untilMs > world.nowMs && again.masterSaeId === command.masterSaeId && servedHere(again.linkId)) {
      found.push(again.key);
    } else if (key === undefined || !servedHere(key.linkId) || key.masterSaeId !== command.masterSaeId || isConsumedAt(world, key, command.kmeId)) {
      notFound.push(id);
    } else if (!key.slaveSaeIds.includes(command.callerSaeId) && !bugs.has('third-party-read')) {
      forbidden.push(id);
    } else if (hasRetrieved(world, key, command.callerSaeId, command.kmeId)) {
      notFound.push(id);
    } else {
      found.push(key);
    }
  }
  const failure: KmeError | null =
    forbidden.length > 0
      ? { kind: 'unauthorized', reason: `${shortId(command.callerSaeId)} is not named as a slave of key ${shortId(forbidden[0] as string)}${forbidden.length > 1 ? ` (nor of ${forbidden.length - 1} more of the keys asked for)` : ''}` }
      : notFound.length > 0
        ? kmeError('keysNotFound', notFound.slice(0, 8).map((id) => ({ key_ID: id })))
        : null;
  if (failure !== null && !bugs.has('partial-consume')) return { ok: false, error: failure };

  // Reached with a failure only under the partial-consume bug: it consumes what it found (breaks I7).
  const delivered = found.map((key) => ('state' in key ? retrieve(world, key, command.callerSaeId, command.kmeId) : key));
  compactReservedQueue(world);
  return failure === null ? { ok: true, keys: delivered } : { ok: false, error: failure };
}

/** Retrievals past their grace leave, oldest first (one grace for all keeps the map in time order). */
function forgetStaleRetrievals(world: World): void {
  for (const [id, recent] of world.recentRetrievals) {
    if (recent.untilMs > world.nowMs) return;
    world.recentRetrievals.delete(id);
  }
}

function retrieve(world: World, key: ReservedKey, saeId: string, kmeId: string): DeliveredKey {
  const delivered: DeliveredKey = {
    keyId: key.keyId,
    sizeBits: key.sizeBits,
    materialLabel: materialLabelFor(key.linkId, key.origin),
    poolId: key.poolId,
    origin: key.origin,
    generatedAtMs: key.generatedAtMs,
  };
  const { bugs, profile } = world.config;
  if (!profile.consumeOnDecrypt || bugs.has('no-consume')) return delivered;
  // Copied on write: most keys are retrieved once, and a waiting key shares one empty list (NO_RETRIEVALS).
  key.retrievals = [...key.retrievals, { saeId, kmeId }];
  world.retrievalCount += 1;
  if (profile.retry === 'idempotent' && profile.retryGraceMs > 0) {
    const untilMs = Math.min(world.nowMs + profile.retryGraceMs, key.expiresAtMs);
    world.recentRetrievals.set(recentRetrievalKey(key.keyId, saeId), { key: delivered, saeId, masterSaeId: key.masterSaeId, linkId: key.linkId, untilMs });
  }
  const everyone = key.slaveSaeIds.every((slave) => key.retrievals.some((r) => r.saeId === slave));
  const event = everyone ? 'key.consume' : 'key.retrieve';
  // The double-delivery bug serves a key its machine is done with (consumed at the other KME): it stays as it is.
  if (bugs.has('double-delivery') && !canStepKey(world, key.state, event)) return delivered;
  key.state = stepKey(world, key.state, event);
  if (!everyone) return delivered;
  const pool = world.pools.get(key.poolId);
  if (pool !== undefined) {
    pool.reserved -= 1;
    pool.consumed += 1;
  }
  if (!bugs.has('double-delivery')) world.reserved.delete(key.keyId);
  return delivered;
}
