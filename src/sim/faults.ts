// Faults of the safety phase, as the scenario times them, played through the engine (src/engine/faults.ts)
// on every key source: the remote key manager offline (for every link or one), a KME restart with
// downtime, extra transmit latency, the next requests failing. Faults start only within the safety phase;
// the liveness phase heals them all.
import { applyFaultEdge, healFaults as healTransport, type Fault, type FaultEdge } from '../engine/faults.js';
import type { SimEventOf } from './agenda.js';
import type { RunState } from './runState.js';

export function startFault(state: RunState, event: SimEventOf<'fault.start'>): void {
  if (state.nowMs < state.endOfSafety) playEdge(state, event.fault, 'start');
}

export function endFault(state: RunState, event: SimEventOf<'fault.end'>): void {
  if (state.nowMs <= state.endOfSafety) playEdge(state, event.fault, 'end');
}

/** The extra transmit delay a latency fault adds to mail now. */
export function transmitLatency(state: RunState): number {
  let latency = 0;
  for (const sim of state.sims) latency = Math.max(latency, sim.transport.latencyMs);
  return latency;
}

/** Ends every fault: the remote key manager back, no injected failures, no downtime, no extra latency. */
export function healFaults(state: RunState): void {
  // Every fault with an end is ended as at its end (its chart line and commands), then all the rest.
  for (const fault of state.scenario.faults) if (fault.type !== 'kme-restart' && fault.type !== 'fail-next') playEdge(state, fault, 'end');
  for (const sim of state.sims) for (const command of healTransport(sim.transport)) sim.run(command, state.nowMs);
}

function playEdge(state: RunState, fault: Fault, edge: FaultEdge): void {
  const { sims, series, kmeIds, nowMs } = state;
  let note: { kind: string; detail: string } | undefined;
  for (const sim of sims) {
    const change = applyFaultEdge(sim.transport, fault, edge, nowMs, kmeIds);
    for (const command of change.commands) sim.run(command, nowMs);
    note = change.note;
  }
  if (note !== undefined) series.event(nowMs, note.kind as Parameters<typeof series.event>[1], note.detail);
}
