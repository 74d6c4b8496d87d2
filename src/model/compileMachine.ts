// Compiles a guard-free XState machine into a (state × event) → state lookup table, derived from the
// machine itself by walking every reachable state with xstate's pure `transition()`. The hot paths of the
// core use the table; a test checks that table and machine agree on every (state, event).
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject, type StateValue } from 'xstate';
import type { MachineTable } from './machineTypes.js';

export const NO_TRANSITION = -1;

/** A machine's table with the XState snapshot of each state, for the tests that read them back. */
export interface CompiledMachine extends MachineTable {
  readonly snapshots: readonly AnyMachineSnapshot[];
}

/** A state value as one stable string: `idle`, or `level.low|sync.idle|remote.online` for parallel regions. */
export function serializeStateValue(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.keys(value)
    .map((region) => {
      const inner = value[region];
      return inner === undefined ? region : `${region}.${serializeStateValue(inner)}`;
    })
    .join('|');
}

export function compileMachine(machine: AnyStateMachine, sampleEvents: readonly EventObject[]): CompiledMachine {
  const eventTypes = sampleEvents.map((event) => event.type);
  if (new Set(eventTypes).size !== eventTypes.length) {
    throw new Error(`compileMachine(${machine.id}): give one sample event per event type`);
  }
  const [initialSnapshot] = initialTransition(machine);
  const states: string[] = [];
  const snapshots: AnyMachineSnapshot[] = [];
  const indexOf = new Map<string, number>();
  const edges: Array<[number, number, number]> = [];
  const visit = (snapshot: AnyMachineSnapshot): number => {
    const key = serializeStateValue(snapshot.value);
    const known = indexOf.get(key);
    if (known !== undefined) return known;
    const index = states.length;
    states.push(key);
    snapshots.push(snapshot);
    indexOf.set(key, index);
    return index;
  };
  visit(initialSnapshot as AnyMachineSnapshot);
  for (let cursor = 0; cursor < snapshots.length; cursor++) {
    const snapshot = snapshots[cursor] as AnyMachineSnapshot;
    sampleEvents.forEach((event, eventIndex) => {
      if (!snapshot.can(event)) return;
      const [next] = transition(machine, snapshot, event);
      edges.push([cursor, eventIndex, visit(next as AnyMachineSnapshot)]);
    });
  }
  const table = new Int16Array(states.length * eventTypes.length).fill(NO_TRANSITION);
  for (const [from, event, to] of edges) table[from * eventTypes.length + event] = to;
  return { id: machine.id, states, eventTypes, initial: 0, table, snapshots };
}

/** The next state number, or NO_TRANSITION when the machine does not accept the event there. */
export function stepCompiled(compiled: CompiledMachine, state: number, event: number): number {
  return compiled.table[state * compiled.eventTypes.length + event] ?? NO_TRANSITION;
}
