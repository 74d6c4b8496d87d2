// Mutants of the compiled lifecycle tables: for each transition a machine declares, the machine's table
// with that one transition taken out (every cell where xstate would take it set to NO_TRANSITION).
import type { AnyStateMachine, AnyTransitionDefinition, EventObject } from 'xstate';
import { getStateNodes } from 'xstate/graph';
import { NO_TRANSITION, type CompiledMachine } from '../../../src/model/compileMachine.js';
import { compiledKeyMachine, compiledPoolMachine, POOL_SAMPLE_EVENTS } from '../../../src/model/compiledMachines.js';
import { MACHINE_TABLES, type LifecycleTables } from '../../../src/model/lifecycles.js';
import { KEY_EVENT_TYPES, keyMachine } from '../../../src/model/keyMachine.js';
import { poolMachine } from '../../../src/model/poolMachine.js';

export interface Mutant {
  /** The transition taken out, as `machine: source --event--> target`. */
  readonly label: string;
  /** How many cells of the compiled table it accounted for. */
  readonly cells: number;
  readonly tables: LifecycleTables;
}

function describeTransition(machineId: string, definition: AnyTransitionDefinition): string {
  const source = definition.source.path.join('.');
  const target = (definition.target ?? []).map((node) => node.path.join('.')).join(',') || source;
  return `${machineId}: ${source} --${definition.eventType}--> ${target}`;
}

/** The cells of the compiled table each declared transition accounts for, asked of xstate itself. */
function cellsByTransition(machine: AnyStateMachine, compiled: CompiledMachine, events: readonly EventObject[]): Map<AnyTransitionDefinition, number[]> {
  const declared = getStateNodes(machine).flatMap((node) => [...node.transitions.values()].flat());
  const cells = new Map<AnyTransitionDefinition, number[]>(declared.map((definition) => [definition, []]));
  const width = compiled.eventTypes.length;
  compiled.snapshots.forEach((snapshot, state) => {
    events.forEach((event, column) => {
      const cell = state * width + column;
      if (compiled.table[cell] === NO_TRANSITION) return;
      const taken = machine.getTransitionData(snapshot, event);
      const [definition] = taken;
      if (taken.length !== 1 || definition === undefined) {
        throw new Error(`${compiled.states[state]} on ${event.type}: expected one transition, xstate takes ${taken.length}`);
      }
      cells.get(definition)?.push(cell);
    });
  });
  return cells;
}

function mutantsOf(
  machine: AnyStateMachine,
  compiled: CompiledMachine,
  events: readonly EventObject[],
  withTable: (table: Int16Array) => LifecycleTables,
): Mutant[] {
  return [...cellsByTransition(machine, compiled, events)].map(([definition, cells]) => {
    const table = Int16Array.from(compiled.table);
    for (const cell of cells) table[cell] = NO_TRANSITION;
    return { label: describeTransition(machine.id, definition), cells: cells.length, tables: withTable(table) };
  });
}

/** One mutant per declared transition of the key machine, then of the pool machine. */
export function lifecycleMutants(): Mutant[] {
  return [
    ...mutantsOf(
      keyMachine,
      compiledKeyMachine,
      KEY_EVENT_TYPES.map((type) => ({ type })),
      (key) => ({ key, pool: MACHINE_TABLES.pool }),
    ),
    ...mutantsOf(poolMachine, compiledPoolMachine, POOL_SAMPLE_EVENTS, (pool) => ({ key: MACHINE_TABLES.key, pool })),
  ];
}
