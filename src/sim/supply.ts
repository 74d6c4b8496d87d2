// A scenario's key supply as the model takes it: the rate given, or derived from the link description by
// the decoy-state formula, and the store's size.
import { formatDuration } from '../engine/duration.js';
import { GYS_LINK, secretKeyRate } from '../model/keyRate.js';
import type { SupplySpec } from '../model/keySupply.js';
import type { Profile } from '../model/profiles.js';
import type { Scenario } from './scenarioSchema.js';

type SupplyConfig = NonNullable<Scenario['world']['supply']>;

/** Secret bits per second of the scenario's links: the rate given, or the link's by the decoy-state formula. */
export function supplyRateOf(supply: SupplyConfig): number {
  if (supply.rate !== undefined) return supply.rate;
  // Fields the scenario leaves out take the GYS experiment's values.
  const given = Object.fromEntries(Object.entries(supply.link ?? {}).filter(([, value]) => value !== undefined));
  return secretKeyRate({ ...GYS_LINK, ...given });
}

/** The model's supply for every link, or undefined when the scenario's remote is an endless source. */
export function supplySpecOf(scenario: Scenario, profile: Profile): SupplySpec | undefined {
  const supply = scenario.world.supply;
  if (supply === undefined) return undefined;
  const capacityBits = supply.storeBits ?? profile.poolCapacity * profile.keySizeBits;
  return {
    rateBitsPerSecond: supplyRateOf(supply),
    capacityBits,
    ...(supply.initialBits === undefined ? {} : { initialBits: supply.initialBits }),
    ...(supply.feed === undefined ? {} : { feed: supply.feed }),
  };
}

/** The supply in one line, for the options a run prints before it starts: store, feed, fluctuation, outages. */
export function describeSupply(scenario: Scenario, profile: Profile): string {
  const spec = supplySpecOf(scenario, profile);
  const supply = scenario.world.supply;
  if (spec === undefined || supply === undefined) return 'none';
  const parts = [`store ${spec.capacityBits} bits (${spec.initialBits ?? spec.capacityBits} at the start)`, `feed ${spec.feed ?? 'sync'}`];
  if (supply.fluctuation !== undefined) parts.push(`rate ±${supply.fluctuation.spreadPct} % every ${formatDuration(supply.fluctuation.every)}`);
  if (supply.outages !== undefined) parts.push(`outages every ${formatDuration(supply.outages.meanEvery)} for ${formatDuration(supply.outages.meanLength)} on average`);
  return parts.join(', ');
}
