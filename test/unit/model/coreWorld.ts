// Small worlds and readers shared by the KME core tests, so that each test states only what it is about.
import { expect } from 'vitest';
import type { BugName } from '../../../src/model/bugs.js';
import type { DeliveredKey } from '../../../src/model/encKeys.js';
import { toEtsiError, type EtsiErrorResponse } from '../../../src/model/kmeError.js';
import { executeCommand, type KmeCommand, type StepOutcome } from '../../../src/model/kmeCore.js';
import type { LifecycleTables } from '../../../src/model/lifecycles.js';
import { deriveKeyBytes } from '../../../src/model/keyMaterial.js';
import { strictProfile, type Profile } from '../../../src/model/profiles.js';
import type { KeyRequest, Status } from '../../../src/model/wireSchema.js';
import { cloneWorld, createWorld, linkIdOf, poolIdOf, type Pool, type World } from '../../../src/model/world.js';

export const SEED = 'core-test-seed';
export const KME_A = 'kme-a';
export const KME_B = 'kme-b';

export interface WorldSpec {
  readonly profile?: Profile;
  readonly kmeIds?: readonly string[];
  readonly bugs?: readonly BugName[];
  /** SAE ID → its KME (default: the first KME). */
  readonly saes?: Readonly<Record<string, string>>;
  readonly capacity?: number;
  readonly initialKeys?: number;
  /** Tables to step keys and pools through instead of the machines' own (the mutation test's). */
  readonly lifecycles?: LifecycleTables;
}

/** A world with its SAEs registered at time 0 (alice and bob on the first KME unless told otherwise). */
export function makeWorld(spec: WorldSpec = {}): World {
  const kmeIds = spec.kmeIds ?? [KME_A];
  const world = createWorld({
    seed: SEED,
    profile: spec.profile ?? strictProfile,
    kmeIds,
    bugs: new Set(spec.bugs ?? []),
    ...(spec.lifecycles === undefined ? {} : { lifecycles: spec.lifecycles }),
  });
  const saes = spec.saes ?? { alice: kmeIds[0] as string, bob: kmeIds[0] as string };
  for (const [saeId, kmeId] of Object.entries(saes)) {
    const outcome = run(world, {
      type: 'sae.register',
      saeId,
      kmeId,
      ...(spec.capacity === undefined ? {} : { capacity: spec.capacity }),
      ...(spec.initialKeys === undefined ? {} : { initialKeys: spec.initialKeys }),
    });
    if (!outcome.result.ok) throw new Error(`makeWorld: could not register ${saeId}`);
  }
  return world;
}

/** Runs a command at the world's current time, or at `atMs`. */
export function run(world: World, command: KmeCommand, atMs: number = world.nowMs): StepOutcome {
  return executeCommand(world, command, atMs);
}

export function enc(world: World, master: string, slave: string, request: KeyRequest = {}, atMs?: number): StepOutcome {
  const kmeId = world.saes.get(master)?.kmeId ?? KME_A;
  return run(world, { type: 'keys.enc', kmeId, callerSaeId: master, slaveSaeId: slave, request }, atMs);
}

/** dec_keys on the slave's own KME unless `kmeId` says otherwise. */
export function dec(world: World, slave: string, master: string, keyIds: readonly string[], kmeId?: string, atMs?: number): StepOutcome {
  const calledKme = kmeId ?? world.saes.get(slave)?.kmeId ?? KME_A;
  return run(world, { type: 'keys.dec', kmeId: calledKme, callerSaeId: slave, masterSaeId: master, keyIds }, atMs);
}

export function statusOf(world: World, caller: string, slave: string, kmeId?: string): Status {
  const calledKme = kmeId ?? world.saes.get(caller)?.kmeId ?? KME_A;
  const { result } = run(world, { type: 'keys.status', kmeId: calledKme, callerSaeId: caller, slaveSaeId: slave });
  if (!result.ok || result.kind !== 'status') throw new Error(`expected a status, got ${JSON.stringify(result)}`);
  return result.status;
}

export function keysOf(outcome: StepOutcome): readonly DeliveredKey[] {
  const { result } = outcome;
  if (!result.ok || result.kind !== 'keys') throw new Error(`expected keys, got ${JSON.stringify(result)}`);
  return result.keys;
}

export function idsOf(outcome: StepOutcome): string[] {
  return keysOf(outcome).map((key) => key.keyId);
}

/** The ETSI status and body a refused command maps to. */
export function errorOf(world: World, outcome: StepOutcome): EtsiErrorResponse {
  const { result } = outcome;
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return toEtsiError(result.error, world.config.profile);
}

export function bytesOf(world: World, key: DeliveredKey): Uint8Array {
  return deriveKeyBytes(world.config.seed, key.materialLabel, key.keyId, key.sizeBits);
}

/** The pool that serves `slave` for callers on `masterKme` (default: the slave's own KME). */
export function poolOf(world: World, slave: string, masterKme?: string): Pool {
  const slaveKme = world.saes.get(slave)?.kmeId ?? KME_A;
  const pool = world.pools.get(poolIdOf(linkIdOf(masterKme ?? slaveKme, slaveKme), slave));
  if (pool === undefined) throw new Error(`no pool for ${slave}`);
  return pool;
}

export function storedIn(pool: Pool): number {
  return pool.tailSeq - pool.headSeq;
}

/** I8 for one pool: generated = stored + reserved + consumed + expired + discarded. */
export function isConserved(pool: Pool): boolean {
  return pool.generated === storedIn(pool) + pool.reserved + pool.consumed + pool.expired + pool.discarded;
}

/** The world without its clock, for before/after comparisons of commands run at a later time. */
export function withoutClock(world: World): Omit<World, 'nowMs'> {
  const { nowMs: _ignored, ...rest } = world;
  return rest;
}

/**
 * I7 for a refusal: `command` is refused and changes nothing, except that a refusal for want of keys asks
 * the remote for keys (a demand sync): the world after it equals the world before plus that sync start.
 */
export function expectRefusedChangingNothingButDemand(world: World, command: KmeCommand, atMs: number): StepOutcome {
  const before = cloneWorld(world);
  const outcome = run(world, command, atMs);
  expect(outcome.result.ok, JSON.stringify(command)).toBe(false);
  const demand = outcome.effects.find((effect) => effect.type === 'sync.requested' && effect.reason === 'demand');
  if (demand === undefined) {
    expect(outcome.effects, JSON.stringify(command)).toEqual([]);
  } else {
    const started = run(before, { type: 'sync.start', poolId: demand.poolId, reason: 'demand' }, atMs);
    expect(outcome.effects, JSON.stringify(command)).toEqual(started.effects);
  }
  expect(withoutClock(world), JSON.stringify(command)).toEqual(withoutClock(before));
  return outcome;
}
