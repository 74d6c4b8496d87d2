// Machine state and transition coverage of a run, read off the core's coverage counters.
import type { MachineTable } from '../model/machineTypes.js';
import { compiledKeyMachine, compiledPoolMachine } from '../model/compiledMachines.js';
import type { MachineCoverage } from '../model/lifecycles.js';
import type { MachineCoverageReport } from './runReport.js';

function reportFor(machine: 'key' | 'pool', compiled: MachineTable, counts: Uint32Array): MachineCoverageReport {
  const width = compiled.eventTypes.length;
  const transitions: Array<{ from: string; event: string; to: string; count: number }> = [];
  const missed: Array<{ from: string; event: string; to: string }> = [];
  const visited = new Set<string>([compiled.states[compiled.initial] as string]);
  compiled.table.forEach((to, cell) => {
    if (to < 0) return;
    const edge = {
      from: compiled.states[Math.floor(cell / width)] as string,
      event: compiled.eventTypes[cell % width] as string,
      to: compiled.states[to] as string,
    };
    const count = counts[cell] ?? 0;
    if (count > 0) {
      transitions.push({ ...edge, count });
      visited.add(edge.from).add(edge.to);
    } else {
      missed.push(edge);
    }
  });
  return { machine, states: compiled.states, statesVisited: compiled.states.filter((s) => visited.has(s)), transitions, transitionsMissed: missed };
}

export function reportCoverage(coverages: readonly MachineCoverage[]): MachineCoverageReport[] {
  const sum = (pick: (c: MachineCoverage) => Uint32Array, length: number): Uint32Array => {
    const total = new Uint32Array(length);
    for (const coverage of coverages) pick(coverage).forEach((count, i) => (total[i] = (total[i] ?? 0) + count));
    return total;
  };
  return [
    reportFor('key', compiledKeyMachine, sum((c) => c.key, compiledKeyMachine.table.length)),
    reportFor('pool', compiledPoolMachine, sum((c) => c.pool, compiledPoolMachine.table.length)),
  ];
}
