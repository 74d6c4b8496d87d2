// Get key (enc_keys): validate everything first, then reserve; a refused request changes nothing (I7).
// Split into plan and commit so that the check-then-act bug can put an await between them.
import { kmeError, unauthorizedCaller, type KmeError } from './kmeError.js';
import { deriveKeyId, formatSequentialKeyId } from './keyIds.js';
import { KEY_STATE_INDEX, stepKey } from './lifecycles.js';
import { addKeys, advanceHead, compactReservedQueue, updateLevel, type KmeEffect } from './poolOps.js';
import { MIN_TTL_EXTENSION } from './profiles.js';
import type { KeyRequest } from './wireSchema.js';
import { availableKeys, NO_RETRIEVALS, slavePoolOf, type KeyOrigin, type Pool, type ReservedKey, type World } from './world.js';

export interface EncKeysCommand {
  readonly type: 'keys.enc';
  readonly kmeId: string;
  readonly callerSaeId: string;
  readonly slaveSaeId: string;
  readonly request: KeyRequest;
}

export interface DeliveredKey {
  readonly keyId: string;
  readonly sizeBits: number;
  /** What the key material PRF is keyed with besides the seed and key ID (the link, for remote keys). */
  readonly materialLabel: string;
  readonly poolId: string;
  readonly origin: KeyOrigin;
  readonly generatedAtMs: number;
}

export interface EncPlan {
  readonly pool: Pool;
  readonly masterSaeId: string;
  readonly slaveSaeIds: readonly string[];
  readonly count: number;
  readonly sizeBits: number;
  readonly seqStart: number;
}

/** A refusal names the pool when it was refused for want of keys: unmet demand the pool should sync for. */
export type EncPlanResult = { readonly ok: true; readonly plan: EncPlan } | { readonly ok: false; readonly error: KmeError; readonly starved?: Pool };

export function keyIdFor(world: World, pool: Pool, seq: number): string {
  if (world.config.profile.keyIdFormat === 'uuid') return deriveKeyId(world.config.seed, pool.id, seq);
  return formatSequentialKeyId(pool.keyIdOwner, seq);
}

export function materialLabelFor(linkId: string, origin: KeyOrigin): string {
  return origin === 'remote' ? linkId : `local:${linkId}`;
}

export function planEncKeys(world: World, command: EncKeysCommand): EncPlanResult {
  const { profile, bugs } = world.config;
  const refuse = (error: KmeError): EncPlanResult => ({ ok: false, error });
  const unauthorized = unauthorizedCaller(world, command.callerSaeId, command.kmeId);
  if (unauthorized !== null) return refuse(unauthorized);
  const slave = world.saes.get(command.slaveSaeId);
  if (slave === undefined) return refuse(kmeError('unknownSlave', [{ slave_SAE_ID: command.slaveSaeId }]));
  // A key agreed with oneself is no key agreement: as for additional_slave_SAE_IDs naming the master (C28).
  if (slave.id === command.callerSaeId) return refuse(kmeError('slaveIsCaller', [{ slave_SAE_ID: command.slaveSaeId }]));
  const { request } = command;

  const count = request.number ?? 1;
  if (!Number.isSafeInteger(count) || count < 1 || count > profile.maxKeysPerRequest) {
    return refuse(kmeError('badNumber', [{ number: count, max_key_per_request: profile.maxKeysPerRequest }]));
  }
  let sizeBits = request.size ?? profile.keySizeBits;
  if (!Number.isSafeInteger(sizeBits)) return refuse(kmeError('sizeOutOfRange', [{ size: sizeBits }]));
  if (sizeBits % 8 !== 0) {
    if (!bugs.has('size-rounding')) return refuse(kmeError('sizeNotMultipleOf8', [{ size: sizeBits }]));
    sizeBits = Math.ceil(sizeBits / 8) * 8;
  }
  if (sizeBits < profile.minKeySizeBits || sizeBits > profile.maxKeySizeBits) {
    return refuse(
      kmeError('sizeOutOfRange', [{ size: sizeBits, min_key_size: profile.minKeySizeBits, max_key_size: profile.maxKeySizeBits }]),
    );
  }

  const additional = request.additional_slave_SAE_IDs ?? [];
  if (additional.length > 0) {
    const problem =
      additional.length > profile.maxSaeIdCount
        ? `at most ${profile.maxSaeIdCount} additional slaves`
        : new Set(additional).size !== additional.length
          ? 'duplicate SAE IDs'
          : additional.includes(command.callerSaeId) || additional.includes(command.slaveSaeId)
            ? 'the master or the slave itself is listed'
            : additional.find((id) => !world.saes.has(id)) !== undefined
              ? 'an SAE ID is not known'
              : // The key lives on one link: every slave must reach it through the primary slave's KME.
                additional.find((id) => world.saes.get(id)?.kmeId !== slave.kmeId) !== undefined
                ? 'an additional slave is attached to another KME than the slave'
                : null;
    if (problem !== null) return refuse(kmeError('badAdditionalSlaves', [{ additional_slave_SAE_IDs: problem }]));
  }

  for (const extension of request.extension_mandatory ?? []) {
    for (const [name, value] of Object.entries(extension)) {
      if (!profile.supportedMandatoryExtensions.includes(name)) {
        return refuse(kmeError('extensionUnsupported', [{ [name]: 'not supported' }]));
      }
      // The one supported extension: the keys must stay retrievable at least this long.
      if (name === MIN_TTL_EXTENSION && !(Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= profile.keyTtlMs)) {
        return refuse(kmeError('extensionUnmet', [{ [name]: `must be an integer from 0 to ${profile.keyTtlMs}` }]));
      }
    }
  }

  const pool = slavePoolOf(world, command.kmeId, slave.id);
  if (pool === undefined || pool.deleted) return refuse(kmeError('unknownSlave', [{ slave_SAE_ID: slave.id }]));
  // A request larger than the pool could ever hold is told keys are short (below), not that keys wait.
  const { maxWaitingKeys } = profile;
  if (maxWaitingKeys !== null && pool.reserved + count > maxWaitingKeys && count <= pool.capacity) {
    return refuse(kmeError('tooManyWaiting', [{ waiting_key_count: pool.reserved, requested: count, max_waiting_key_count: maxWaitingKeys }]));
  }
  const remoteOnline = world.links.get(pool.linkId)?.remote === 'online';
  if (availableKeys(pool) < count && (remoteOnline || !bugs.has('synthetic-fallback'))) {
    const error = kmeError(remoteOnline ? 'insufficientKeys' : 'remoteUnavailable', [{ stored_key_count: availableKeys(pool), requested: count }]);
    return { ok: false, error, starved: pool };
  }
  return {
    ok: true,
    plan: {
      pool,
      masterSaeId: command.callerSaeId,
      slaveSaeIds: [slave.id, ...additional],
      count,
      sizeBits,
      seqStart: pool.headSeq,
    },
  };
}

/** Reserves the planned keys. Without the check-then-act bug it is called right after planning. */
export function commitEncKeys(world: World, plan: EncPlan, nowMs: number, effects: KmeEffect[]): DeliveredKey[] {
  const { pool } = plan;
  if (availableKeys(pool) < plan.count && world.config.bugs.has('synthetic-fallback')) {
    // The bug: key material made up locally because the remote is out of reach (breaks I10).
    addKeys(world, pool, plan.count - availableKeys(pool), 'local', nowMs, effects);
  }
  const popOnEnc = world.config.bugs.has('pop-on-enc');
  // The planned keys leave the stored range together: one step of the key machine for all of them.
  const reserved = stepKey(world, KEY_STATE_INDEX.stored, 'key.reserve', plan.count);
  const delivered: DeliveredKey[] = [];
  let batchIndex = pool.batchHead;
  for (let i = 0; i < plan.count; i++) {
    const seq = plan.seqStart + i;
    while ((pool.batches[batchIndex]?.seqEnd ?? Infinity) <= seq) batchIndex += 1;
    const batch = pool.batches[batchIndex];
    const generatedAtMs = batch?.generatedAtMs ?? nowMs;
    const origin = batch?.origin ?? 'remote';
    const keyId = keyIdFor(world, pool, seq);
    delivered.push({ keyId, sizeBits: plan.sizeBits, materialLabel: materialLabelFor(pool.linkId, origin), poolId: pool.id, origin, generatedAtMs });
    if (popOnEnc) {
      // The bug: the key leaves the pool for good, so its slave can never retrieve it (breaks I2).
      stepKey(world, reserved, 'key.consume');
      pool.consumed += 1;
      continue;
    }
    const record: ReservedKey = {
      keyId,
      poolId: pool.id,
      linkId: pool.linkId,
      seq,
      masterSaeId: plan.masterSaeId,
      slaveSaeIds: plan.slaveSaeIds,
      retrievals: NO_RETRIEVALS,
      sizeBits: plan.sizeBits,
      generatedAtMs,
      reservedAtMs: nowMs,
      expiresAtMs: nowMs + world.config.profile.keyTtlMs,
      origin,
      state: reserved,
    };
    world.reserved.set(keyId, record);
    world.reservedQueue.push(record);
    pool.reserved += 1;
  }
  // With the check-then-act bug the head may already be past the planned keys: they go out twice.
  compactReservedQueue(world);
  advanceHead(pool, plan.seqStart + plan.count);
  updateLevel(world, pool, effects);
  return delivered;
}
