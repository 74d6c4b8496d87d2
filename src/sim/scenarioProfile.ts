// A scenario's profile: the named profile with the scenario's own pool, key, sync and TTL settings over it.
import { keySizeOverrides, resolveProfile, type Profile } from '../model/profiles.js';
import type { Scenario } from './scenarioSchema.js';

/** The scenario's profile with its overrides; `baseName` replaces the profile the scenario names. */
export function buildProfile(scenario: Scenario, baseName: string = scenario.world.profile): Profile {
  const { world } = scenario;
  const base = resolveProfile(baseName);
  const overrides: Partial<{ -readonly [K in keyof Profile]: Profile[K] }> = {};
  if (world.pool.capacity !== undefined) overrides.poolCapacity = world.pool.capacity;
  if (world.pool.lowThresholdPct !== undefined) overrides.lowThresholdPct = world.pool.lowThresholdPct;
  if (world.pool.emergencyThresholdPct !== undefined) overrides.emergencyThresholdPct = world.pool.emergencyThresholdPct;
  if (world.keySizeBits !== undefined) Object.assign(overrides, keySizeOverrides(base, world.keySizeBits));
  if (world.maxKeysPerRequest !== undefined) overrides.maxKeysPerRequest = world.maxKeysPerRequest;
  if (world.maxSaeIdCount !== undefined) overrides.maxSaeIdCount = world.maxSaeIdCount;
  if (world.keyTtl !== undefined) overrides.keyTtlMs = world.keyTtl;
  if (world.sync.scheduled !== undefined) overrides.scheduledSyncMs = world.sync.scheduled;
  if (world.sync.backoffBase !== undefined || world.sync.backoffMax !== undefined) {
    overrides.backoff = { baseMs: world.sync.backoffBase ?? base.backoff.baseMs, maxMs: world.sync.backoffMax ?? base.backoff.maxMs };
  }
  return resolveProfile(baseName, overrides);
}
