// Checks that the compiled lookup tables agree with the key and pool machines they derive from, by resolving every compiled state back into a machine snapshot and asking xstate about every event.
import { expect, it } from 'vitest';
import { initialTransition, transition, type AnyStateMachine, type AnyStateNode, type EventObject, type StateValue } from 'xstate';
import { getStateNodes } from 'xstate/graph';
import { NO_TRANSITION, serializeStateValue, stepCompiled, type CompiledMachine } from '../../../src/model/compileMachine.js';
import { KEY_EVENT_TYPES, keyMachine } from '../../../src/model/keyMachine.js';
import {
  assertLifecycleTables,
  canStepKey,
  canStepPool,
  createMachineCoverage,
  describePoolState,
  INITIAL_POOL_STATE,
  KEY_STATE_INDEX,
  MACHINE_TABLES,
  stepKey,
  stepPool,
} from '../../../src/model/lifecycles.js';
import { compiledKeyMachine, compiledPoolMachine, POOL_SAMPLE_EVENTS } from '../../../src/model/compiledMachines.js';
import { poolMachine, type PoolEvent } from '../../../src/model/poolMachine.js';

const KEY_EVENTS: readonly EventObject[] = KEY_EVENT_TYPES.map((type) => ({ type }));
const POOL_EVENTS: readonly PoolEvent[] = POOL_SAMPLE_EVENTS;

const CASES: ReadonlyArray<{ name: string; machine: AnyStateMachine; compiled: CompiledMachine; events: readonly EventObject[] }> = [
  { name: 'key', machine: keyMachine, compiled: compiledKeyMachine, events: KEY_EVENTS },
  { name: 'pool', machine: poolMachine, compiled: compiledPoolMachine, events: POOL_EVENTS },
];

/** The inverse of serializeStateValue for the shapes our machines have (flat, or parallel regions of flat states). */
function parseStateValue(serialized: string): StateValue {
  if (!serialized.includes('|') && !serialized.includes('.')) return serialized;
  const value: Record<string, StateValue> = {};
  for (const part of serialized.split('|')) {
    const [region, ...rest] = part.split('.');
    value[region as string] = parseStateValue(rest.join('.'));
  }
  return value;
}

/** Every state configuration the machine's structure allows: leaves of a compound node, products over parallel regions. */
function configurations(node: AnyStateNode): string[] {
  const children = Object.values(node.states) as AnyStateNode[];
  if (children.length === 0) return [node.key];
  const prefix = (inner: string): string => (node.parent === undefined ? inner : `${node.key}.${inner}`);
  if (node.type === 'parallel') {
    return children
      .map(configurations)
      .reduce<string[]>((acc, regionConfigs) => acc.flatMap((left) => regionConfigs.map((right) => (left === '' ? right : `${left}|${right}`))), [''])
      .map(prefix);
  }
  return children.flatMap(configurations).map(prefix);
}

function resolve(machine: AnyStateMachine, serialized: string) {
  const [initial] = initialTransition(machine);
  return machine.resolveState({ value: parseStateValue(serialized), context: initial.context });
}

for (const { name, machine, compiled, events } of CASES) {
  it(`agrees with the ${name} machine on every compiled state and every event type`, () => {
    expect([...compiled.eventTypes].sort()).toEqual(events.map((event) => event.type).sort());
    let allowed = 0;
    compiled.states.forEach((serialized, state) => {
      const snapshot = resolve(machine, serialized);
      expect(serializeStateValue(snapshot.value)).toBe(serialized);
      for (const event of events) {
        const next = stepCompiled(compiled, state, compiled.eventTypes.indexOf(event.type));
        if (!snapshot.can(event)) {
          expect(next, `${serialized} on ${event.type}`).toBe(NO_TRANSITION);
          continue;
        }
        allowed += 1;
        const [expected] = transition(machine, snapshot, event);
        expect(compiled.states[next], `${serialized} on ${event.type}`).toBe(serializeStateValue(expected.value));
      }
    });
    expect(allowed).toBeGreaterThan(0);
  });

  it(`covers every state of the ${name} machine, once each`, () => {
    const expected = configurations(machine.root).sort();
    expect([...compiled.states].sort()).toEqual(expected);
    expect(new Set(compiled.states).size).toBe(compiled.states.length);
    expect(compiled.table).toHaveLength(compiled.states.length * compiled.eventTypes.length);
    compiled.snapshots.forEach((snapshot, index) => expect(serializeStateValue(snapshot.value)).toBe(compiled.states[index]));
  });

  it(`accepts in the ${name} table only the event types the ${name} machine declares`, () => {
    const declared = new Set(getStateNodes(machine).flatMap((node) => [...node.transitions.keys()]));
    expect(new Set(compiled.eventTypes)).toEqual(declared);
  });
}

it('starts the compiled key machine in generated and the pool machine in exhausted, idle and online', () => {
  expect(compiledKeyMachine.states[compiledKeyMachine.initial]).toBe('generated');
  expect(describePoolState(INITIAL_POOL_STATE)).toEqual({ level: 'exhausted', sync: 'idle', remote: 'online' });
  expect(compiledKeyMachine.states).toHaveLength(6);
  expect(compiledPoolMachine.states).toHaveLength(24);
});

/** A bare host for stepping outside a world: the machines' own tables and fresh counters. */
function freshHost() {
  return { config: { lifecycles: MACHINE_TABLES }, coverage: createMachineCoverage() };
}

const total = (counts: Uint32Array): number => counts.reduce((sum, count) => sum + count, 0);

it('throws when stepKey is given an event the key machine refuses, naming machine, state and event, and counts nothing', () => {
  const host = freshHost();
  expect(() => stepKey(host, KEY_STATE_INDEX.consumed, 'key.reserve')).toThrow(/^key machine: key\.reserve is not allowed in state consumed$/);
  expect(() => stepKey(host, KEY_STATE_INDEX.generated, 'key.consume', 5)).toThrow(/not allowed in state generated/);
  expect(canStepKey(host, KEY_STATE_INDEX.consumed, 'key.reserve')).toBe(false);
  expect(total(host.coverage.key)).toBe(0);
});

it('steps a key through an allowed event and counts that cell of the table, once per key moved', () => {
  const host = freshHost();
  expect(stepKey(host, KEY_STATE_INDEX.stored, 'key.reserve')).toBe(KEY_STATE_INDEX.reserved);
  expect(stepKey(host, KEY_STATE_INDEX.stored, 'key.reserve', 4)).toBe(KEY_STATE_INDEX.reserved);
  const cell = KEY_STATE_INDEX.stored * compiledKeyMachine.eventTypes.length + compiledKeyMachine.eventTypes.indexOf('key.reserve');
  expect(host.coverage.key[cell]).toBe(5);
  expect(total(host.coverage.key)).toBe(5);
});

it('throws when stepPool is given an event the pool machine refuses, naming machine, state and event, and counts nothing', () => {
  const host = freshHost();
  const syncing = stepPool(host, INITIAL_POOL_STATE, 'sync.start');
  expect(describePoolState(syncing).sync).toBe('syncing');
  expect(canStepPool(host, syncing, 'sync.start')).toBe(false);
  expect(() => stepPool(host, syncing, 'sync.start')).toThrow(
    /^pool machine: sync\.start is not allowed in state level\.exhausted\|sync\.syncing\|remote\.online$/,
  );
  expect(() => stepPool(host, INITIAL_POOL_STATE, 'remote.up')).toThrow(/pool machine: remote\.up is not allowed/);
  expect(total(host.coverage.pool)).toBe(1);
});

it('counts only cells its table allows, so a mutated table that refuses a move counts nothing for it', () => {
  const key = Int16Array.from(compiledKeyMachine.table);
  const cell = KEY_STATE_INDEX.reserved * compiledKeyMachine.eventTypes.length + compiledKeyMachine.eventTypes.indexOf('key.expire');
  key[cell] = NO_TRANSITION;
  const host = { config: { lifecycles: { key, pool: compiledPoolMachine.table } }, coverage: createMachineCoverage() };
  expect(canStepKey(host, KEY_STATE_INDEX.reserved, 'key.expire')).toBe(false);
  expect(() => stepKey(host, KEY_STATE_INDEX.reserved, 'key.expire')).toThrow(/key\.expire is not allowed in state reserved/);
  expect(stepKey(host, KEY_STATE_INDEX.stored, 'key.expire')).toBe(KEY_STATE_INDEX.expired);
  expect(total(host.coverage.key)).toBe(1);
  host.coverage.key.forEach((count, index) => {
    if (count > 0) expect(key[index], `cell ${index}`).not.toBe(NO_TRANSITION);
  });
});

it('refuses tables that do not have the shape of the compiled machines', () => {
  expect(() => assertLifecycleTables({ key: new Int16Array(3), pool: compiledPoolMachine.table })).toThrow(/the key table/);
  const pool = Int16Array.from(compiledPoolMachine.table);
  pool[0] = compiledPoolMachine.states.length;
  expect(() => assertLifecycleTables({ key: compiledKeyMachine.table, pool })).toThrow(/the pool table/);
  expect(() => assertLifecycleTables(MACHINE_TABLES)).not.toThrow();
});
