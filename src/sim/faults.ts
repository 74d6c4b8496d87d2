// Faults of the safety phase, as the scenario times them: the remote key manager offline (for every link
// or one), a KME restart with downtime, extra transmit latency, and the next requests failing with a
// status. Faults start only within the safety phase; the liveness phase heals them all.
import type { SimEventOf } from './agenda.js';
import type { RunState } from './runState.js';
import type { Fault } from './scenarioSchema.js';

export function startFault(state: RunState, event: SimEventOf<'fault.start'>): void {
  if (state.nowMs < state.endOfSafety) setFault(state, event.fault, true);
}

export function endFault(state: RunState, event: SimEventOf<'fault.end'>): void {
  if (state.nowMs <= state.endOfSafety) setFault(state, event.fault, false);
}

/** Whether the remote key manager answers syncs on this link now. */
export function remoteOnline(state: RunState, linkId: string): boolean {
  return !state.remoteDown.has('*') && !state.remoteDown.has(linkId);
}

/** Ends every fault: the remote key manager back, no injected failures, no downtime, no extra latency. */
export function healFaults(state: RunState): void {
  for (const fault of state.scenario.faults) if (fault.type !== 'kme-restart' && fault.type !== 'fail-next') setFault(state, fault, false);
  state.remoteDown.clear();
  for (const sim of state.sims) {
    sim.run({ type: 'remote.up' }, state.nowMs);
    sim.failNext = { count: 0, status: 503 };
    sim.downUntil.clear();
  }
  state.latencyMs = 0;
}

function setFault(state: RunState, fault: Fault, on: boolean): void {
  const { sims, series, kmeIds, nowMs } = state;
  switch (fault.type) {
    case 'remote-offline':
    case 'link-down': {
      const link = fault.type === 'link-down' && fault.link !== undefined ? fault.link : undefined;
      const key = link ?? '*';
      if (on) state.remoteDown.add(key);
      else state.remoteDown.delete(key);
      for (const sim of sims) sim.run(on ? { type: 'remote.down', ...(link === undefined ? {} : { linkId: link }) } : { type: 'remote.up', ...(link === undefined ? {} : { linkId: link }) }, nowMs);
      series.event(nowMs, on ? 'outage.start' : 'outage.end', link ?? 'remote key manager');
      break;
    }
    case 'kme-restart':
      for (const sim of sims) {
        sim.run({ type: 'kme.restart', kmeId: kmeIds[fault.kme % kmeIds.length] as string }, nowMs);
        if (fault.downtime > 0) sim.downUntil.set(fault.kme % kmeIds.length, nowMs + fault.downtime);
      }
      series.event(nowMs, 'kme.restart', kmeIds[fault.kme % kmeIds.length] as string);
      break;
    case 'latency':
      state.latencyMs = on ? fault.ms : 0;
      series.event(nowMs, 'fault', on ? `latency ${fault.ms} ms` : 'latency healed');
      break;
    case 'fail-next':
      for (const sim of sims) sim.failNext = { count: fault.count, status: fault.status };
      series.event(nowMs, 'fault', `fail next ${fault.count} with ${fault.status}`);
      break;
  }
}
