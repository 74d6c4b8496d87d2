// White-box invariants over the model's world: what only the inside can show (I6, I7, I8, I10, I11, I12)
// plus the instant detection of lost deliveries (I2). The simulator and the property tests run checkStep
// after every command and checkWorld whenever they want a full audit.
import type { DeliveredKey } from './encKeys.js';
import { supplyImbalance } from './keySupply.js';
import type { KmeCommand, StepOutcome } from './kmeCore.js';
import { describePoolState, KEY_STATE_INDEX } from './lifecycles.js';
import { fedContinuously, levelFor } from './poolOps.js';
import { violation, type Violation } from './violation.js';
import { availableKeys, deliverableKeys, slavePoolIdOf, slavePoolOf, type Pool, type World } from './world.js';

interface PoolCounts {
  readonly headSeq: number;
  readonly tailSeq: number;
  readonly generated: number;
  readonly reserved: number;
  readonly consumed: number;
  readonly expired: number;
  readonly discarded: number;
}

/** The counts a command may change, taken before it runs, for the pools given (default: all). */
export interface CountsSnapshot {
  readonly pools: ReadonlyMap<string, PoolCounts>;
  readonly retrievals: number;
  readonly reservedKeys: number;
}

function countsOf(pool: Pool): PoolCounts {
  const { headSeq, tailSeq, generated, reserved, consumed, expired, discarded } = pool;
  return { headSeq, tailSeq, generated, reserved, consumed, expired, discarded };
}

function sameCounts(a: PoolCounts, b: PoolCounts): boolean {
  return (
    a.headSeq === b.headSeq &&
    a.tailSeq === b.tailSeq &&
    a.generated === b.generated &&
    a.reserved === b.reserved &&
    a.consumed === b.consumed &&
    a.expired === b.expired &&
    a.discarded === b.discarded
  );
}

export function snapshotCounts(world: World, poolIds?: Iterable<string>): CountsSnapshot {
  const pools = new Map<string, PoolCounts>();
  if (poolIds === undefined) {
    for (const pool of world.pools.values()) pools.set(pool.id, countsOf(pool));
  } else {
    for (const id of poolIds) {
      const pool = world.pools.get(id);
      if (pool !== undefined) pools.set(id, countsOf(pool));
    }
  }
  return { pools, retrievals: world.retrievalCount, reservedKeys: world.reserved.size };
}

/**
 * The pools whose counts to snapshot before a command (decision 0006): one pool for status and enc_keys,
 * the pools of the named keys for dec_keys, the synced pool for sync commands, and every pool (undefined)
 * for commands that may touch any, such as a restart or a clock tick.
 */
export function poolsCommandMayChange(world: World, command: KmeCommand): string[] | undefined {
  switch (command.type) {
    case 'keys.enc':
    case 'keys.status': {
      const poolId = slavePoolIdOf(world, command.kmeId, command.slaveSaeId);
      return poolId === undefined ? [] : [poolId];
    }
    case 'keys.dec': {
      const pools: string[] = [];
      for (const id of command.keyIds) {
        const poolId = world.reserved.get(id)?.poolId;
        if (poolId !== undefined && !pools.includes(poolId)) pools.push(poolId);
      }
      return pools;
    }
    case 'sync.start':
    case 'sync.complete':
    case 'sync.fail':
    case 'sync.retry':
      return [command.poolId];
    // A link's rate: no pool changes until a client or a sync draws from its store.
    case 'supply.rate':
      return [];
    case 'sae.register':
    case 'sae.delete':
    case 'remote.down':
    case 'remote.up':
    case 'clock.tick':
    case 'kme.restart':
      return undefined;
  }
}

/** The pools a command is allowed to change. */
export function poolsTouchedBy(world: World, command: KmeCommand, outcome: StepOutcome): Set<string> {
  const touched = new Set<string>();
  for (const effect of outcome.effects) touched.add(effect.poolId as string);
  switch (command.type) {
    case 'keys.enc': {
      const poolId = slavePoolIdOf(world, command.kmeId, command.slaveSaeId);
      if (poolId !== undefined) touched.add(poolId);
      break;
    }
    case 'keys.dec':
      if (outcome.result.ok && outcome.result.kind === 'keys') for (const key of outcome.result.keys) touched.add(key.poolId);
      break;
    case 'sync.start':
    case 'sync.complete':
    case 'sync.fail':
    case 'sync.retry':
      touched.add(command.poolId);
      break;
    case 'keys.status':
    case 'sae.register':
    case 'sae.delete':
    case 'remote.down':
    case 'remote.up':
    case 'clock.tick':
    case 'kme.restart':
    case 'supply.rate':
      break;
  }
  return touched;
}

function isKeyCommand(command: KmeCommand): boolean {
  return command.type === 'keys.enc' || command.type === 'keys.dec' || command.type === 'keys.status';
}

/** Checks one command's effect on the world against the snapshot taken before it. */
export function checkStep(world: World, before: CountsSnapshot, command: KmeCommand, outcome: StepOutcome, nowMs: number): Violation[] {
  const found: Violation[] = [];
  const { profile } = world.config;
  const expiredNow = outcome.effects.some((effect) => effect.type === 'keys.expired');
  const { result } = outcome;

  if (!result.ok && isKeyCommand(command) && !expiredNow) {
    const changed = [...before.pools].filter(([id, counts]) => {
      const pool = world.pools.get(id);
      return pool === undefined || !sameCounts(counts, countsOf(pool));
    });
    const after = snapshotCounts(world, []);
    if (changed.length > 0 || after.retrievals !== before.retrievals || after.reservedKeys !== before.reservedKeys) {
      found.push(
        violation('I7', `a refused ${command.type} (${result.error.kind}) changed the world`, {
          command,
          error: result.error.kind,
          poolsChanged: changed.map(([id]) => id),
          retrievals: [before.retrievals, after.retrievals],
          reservedKeys: [before.reservedKeys, after.reservedKeys],
        }),
      );
    }
  }

  if (result.ok && (command.type === 'keys.enc' || command.type === 'keys.dec')) {
    const allowed = poolsTouchedBy(world, command, outcome);
    for (const [id, counts] of before.pools) {
      const pool = world.pools.get(id);
      if (!allowed.has(id) && pool !== undefined && !sameCounts(counts, countsOf(pool)) && !expiredNow) {
        found.push(violation('I6', `${command.type} changed pool ${id}, which it had no business with`, { command, pool: id }));
      }
    }
  }

  if (result.ok && result.kind === 'keys' && command.type === 'keys.enc') {
    const expected = command.request.size ?? profile.keySizeBits;
    found.push(...checkDelivered(world, result.keys, expected, nowMs, command));
  }

  if (result.ok && result.kind === 'status' && command.type === 'keys.status') {
    const pool = slavePoolOf(world, command.kmeId, command.slaveSaeId);
    if (pool !== undefined && result.status.stored_key_count !== deliverableKeys(world, pool)) {
      found.push(
        violation('I8', `status reports ${result.status.stored_key_count} stored keys where ${deliverableKeys(world, pool)} can be delivered`, {
          pool: pool.id,
          reported: result.status.stored_key_count,
          deliverable: deliverableKeys(world, pool),
        }),
      );
    }
  }

  if (command.type === 'kme.restart') {
    const lost = [...before.pools].filter(([id, counts]) => {
      const pool = world.pools.get(id);
      return pool !== undefined && pool.reserved < counts.reserved && pool.expired === counts.expired;
    });
    if (lost.length > 0) {
      found.push(violation('I2', `restarting ${command.kmeId} lost keys that were waiting for their slaves`, { pools: lost.map(([id]) => id) }));
    }
  }

  for (const effect of outcome.effects) {
    if (effect.type !== 'sync.completed') continue;
    const pool = world.pools.get(effect.poolId);
    const counts = before.pools.get(effect.poolId);
    if (pool === undefined || counts === undefined) continue;
    const room = pool.capacity - (counts.tailSeq - counts.headSeq);
    if (effect.added !== Math.max(0, Math.min(effect.received, room))) {
      found.push(
        violation('I12', `a sync received ${effect.received} keys but added ${effect.added} with room for ${room}`, {
          pool: pool.id,
          ...effect,
          room,
        }),
      );
    }
  }
  return found;
}

function checkDelivered(world: World, keys: readonly DeliveredKey[], expectedSizeBits: number, nowMs: number, command: KmeCommand): Violation[] {
  const found: Violation[] = [];
  const { keyTtlMs } = world.config.profile;
  for (const key of keys) {
    if (key.sizeBits !== expectedSizeBits) {
      found.push(violation('I9', `key ${key.keyId} has ${key.sizeBits} bits where ${expectedSizeBits} were asked for`, { keyId: key.keyId, command }));
    }
    if (key.generatedAtMs + keyTtlMs <= nowMs) {
      found.push(violation('I11', `key ${key.keyId} was delivered after its TTL`, { keyId: key.keyId, generatedAtMs: key.generatedAtMs, nowMs }));
    }
    if (key.origin !== 'remote') {
      found.push(violation('I10', `key ${key.keyId} was not produced by the remote key manager`, { keyId: key.keyId, origin: key.origin }));
    }
    const record = world.reserved.get(key.keyId);
    if (record === undefined || record.state !== KEY_STATE_INDEX.reserved) {
      found.push(violation('I2', `key ${key.keyId} was delivered to its master but cannot be retrieved by its slave`, { keyId: key.keyId, command }));
    }
  }
  return found;
}

/** A full audit of the world: conservation, provenance, expiry and sync health of every pool. */
export function checkWorld(world: World): Violation[] {
  const found: Violation[] = [];
  // No key from nowhere (I10): a link's store hands out only what it held and produced.
  for (const link of world.links.values()) {
    const imbalance = link.supply === null ? null : supplyImbalance(link.supply);
    if (imbalance !== null) found.push(violation('I10', `link ${link.id}: ${imbalance}`, { link: link.id }));
  }
  const { profile } = world.config;
  const reservedPerPool = new Map<string, number>();
  for (const key of world.reserved.values()) {
    if (key.state === KEY_STATE_INDEX.reserved) reservedPerPool.set(key.poolId, (reservedPerPool.get(key.poolId) ?? 0) + 1);
    if (key.state === KEY_STATE_INDEX.reserved && key.expiresAtMs <= world.nowMs) {
      found.push(violation('I11', `key ${key.keyId} is still retrievable after its TTL`, { keyId: key.keyId, expiresAtMs: key.expiresAtMs, nowMs: world.nowMs }));
    }
  }
  for (const pool of world.pools.values()) {
    const available = availableKeys(pool);
    const accounted = available + pool.reserved + pool.consumed + pool.expired + pool.discarded;
    if (pool.generated !== accounted || available < 0 || available > pool.capacity) {
      found.push(
        violation('I8', `pool ${pool.id} does not add up: generated ${pool.generated}, accounted ${accounted}`, {
          pool: pool.id,
          generated: pool.generated,
          stored: available,
          reserved: pool.reserved,
          consumed: pool.consumed,
          expired: pool.expired,
          discarded: pool.discarded,
          capacity: pool.capacity,
        }),
      );
    }
    const held = reservedPerPool.get(pool.id) ?? 0;
    if (held !== pool.reserved) {
      found.push(violation('I8', `pool ${pool.id} counts ${pool.reserved} reserved keys but holds ${held}`, { pool: pool.id, counted: pool.reserved, held }));
    }
    if (pool.synthetic > 0) {
      found.push(violation('I10', `pool ${pool.id} holds ${pool.synthetic} keys made up locally`, { pool: pool.id, synthetic: pool.synthetic }));
    }
    const parts = describePoolState(pool.state);
    const level = levelFor(available, pool.capacity, profile.lowThresholdPct, profile.emergencyThresholdPct);
    if (parts.level !== level) {
      found.push(violation('I8', `pool ${pool.id} is in level ${parts.level} but holds ${available} of ${pool.capacity}`, { pool: pool.id, level: parts.level, expected: level }));
    }
    // A pool fed continuously never syncs: it takes what its link's store holds whenever a client asks.
    if (!pool.deleted && level !== 'healthy' && parts.sync === 'idle' && !fedContinuously(world, pool)) {
      found.push(violation('I12', `pool ${pool.id} is ${level} and no sync is under way`, { pool: pool.id, level, available }));
    }
    if (parts.sync === 'backoff' && (pool.retryAtMs === null || pool.retryAtMs > world.nowMs + profile.backoff.maxMs)) {
      found.push(violation('I12', `pool ${pool.id} waits past the backoff bound`, { pool: pool.id, retryAtMs: pool.retryAtMs, nowMs: world.nowMs }));
    }
  }
  for (let i = world.expiryHead; i < world.expiryQueue.length; i++) {
    const batch = world.expiryQueue[i];
    if (batch === undefined || batch.expiresAtMs > world.nowMs) break;
    const pool = world.pools.get(batch.poolId);
    if (pool !== undefined && pool.headSeq < batch.seqEnd) {
      found.push(violation('I11', `pool ${pool.id} still offers keys past their TTL`, { pool: pool.id, batch }));
    }
  }
  return found;
}
