// A link's production over virtual time (scenario `world.supply.fluctuation` and `.outages`): its rate is
// drawn anew every period within a spread around the mean, and its quantum channel goes down now and then,
// producing nothing until it is back. Each link draws from its own seeded streams, one for the fluctuation
// and one for the outages, so adding one never shifts the other's numbers. Every change reaches the model as
// a `supply.rate` command on every key source, so it is traced and judged like any other step. Outages are
// faults: they start only in the safety phase, and the liveness phase heals them.
import type { SimEventOf } from './agenda.js';
import type { Rng } from './rng.js';
import type { RunState } from './runState.js';
import { supplyRateOf } from './supply.js';

export interface LinkProduction {
  readonly fluctuationRng: Rng;
  readonly outageRng: Rng;
  /** The link's mean rate, bits per second: worked out once (from a link description it is a search). */
  readonly meanBitsPerSecond: number;
  /** The current rate over the mean (1 without fluctuation). */
  factor: number;
  /** Whether the quantum channel is down. */
  down: boolean;
}

type ChangeEvent = SimEventOf<'supply.fluctuate'> | SimEventOf<'supply.outage'>;

const channelLabel = (linkId: string): string => `quantum channel ${linkId}`;

/** Queues each link's first fluctuation and first outage, when the scenario asks for them. */
export function seedSupplyChanges(state: RunState): void {
  const supply = state.scenario.world.supply;
  const first = state.sims[0];
  if (supply === undefined || first === undefined || (supply.fluctuation === undefined && supply.outages === undefined)) return;
  const fluctuationRng = state.rng.fork('supply-fluctuation');
  const outageRng = state.rng.fork('supply-outages');
  const meanBitsPerSecond = supplyRateOf(supply);
  for (const linkId of [...first.world.links.keys()].sort()) {
    const production: LinkProduction = { fluctuationRng: fluctuationRng.fork(linkId), outageRng: outageRng.fork(linkId), meanBitsPerSecond, factor: 1, down: false };
    state.production.set(linkId, production);
    if (supply.fluctuation !== undefined) state.queue.push(0, { type: 'supply.fluctuate', linkId });
    if (supply.outages !== undefined) state.queue.push(production.outageRng.exponential(supply.outages.meanEvery), { type: 'supply.outage', linkId, down: true });
  }
}

/** A link's rate is drawn anew, or its quantum channel goes down or comes back. */
export function changeProduction(state: RunState, event: ChangeEvent): void {
  const supply = state.scenario.world.supply;
  const production = state.production.get(event.linkId);
  if (supply === undefined || production === undefined) return;
  const { queue, nowMs, series } = state;
  if (event.type === 'supply.fluctuate') {
    if (supply.fluctuation === undefined) return;
    const { every, spreadPct } = supply.fluctuation;
    production.factor = 1 + (spreadPct / 100) * (2 * production.fluctuationRng.next() - 1);
    queue.push(nowMs + every, event);
  } else if (supply.outages !== undefined) {
    if (event.down) {
      if (nowMs >= state.endOfSafety || production.down) return;
      production.down = true;
      series.event(nowMs, 'outage.start', channelLabel(event.linkId));
      queue.push(nowMs + production.outageRng.exponential(supply.outages.meanLength), { type: 'supply.outage', linkId: event.linkId, down: false });
    } else {
      if (!production.down) return;
      production.down = false;
      series.event(nowMs, 'outage.end', channelLabel(event.linkId));
      if (nowMs < state.endOfSafety) queue.push(nowMs + production.outageRng.exponential(supply.outages.meanEvery), { type: 'supply.outage', linkId: event.linkId, down: true });
    }
  }
  applyRate(state, event.linkId, production);
}

/** The liveness phase: every quantum channel still down comes back. */
export function healProduction(state: RunState): void {
  for (const [linkId, production] of state.production) {
    if (!production.down) continue;
    production.down = false;
    state.series.event(state.nowMs, 'outage.end', channelLabel(linkId));
    applyRate(state, linkId, production);
  }
}

function applyRate(state: RunState, linkId: string, production: LinkProduction): void {
  const rateBitsPerSecond = production.down ? 0 : production.meanBitsPerSecond * production.factor;
  for (const sim of state.sims) sim.run({ type: 'supply.rate', linkId, rateBitsPerSecond }, state.nowMs);
}
