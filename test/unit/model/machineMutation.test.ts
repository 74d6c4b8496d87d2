// No transition of the key or pool machine is dead weight: the core steps through the machines' tables, so
// taking any one declared transition out of its table breaks at least one behaviour of the core.
import { describe, expect, it } from 'vitest';
import { NO_TRANSITION } from '../../../src/model/compileMachine.js';
import { MACHINE_TABLES, type LifecycleTables } from '../../../src/model/lifecycles.js';
import { BEHAVIOURS } from './lifecycleBehaviours.js';
import { lifecycleMutants } from './machineMutants.js';

const MUTANTS = lifecycleMutants();

/** The behaviours that fail on these tables, each with how: the machine refused a step, or a check failed. */
function failingBehaviours(tables: LifecycleTables): string[] {
  const failing: string[] = [];
  for (const behaviour of BEHAVIOURS) {
    try {
      behaviour.run(tables);
    } catch (error) {
      const refusal = error instanceof Error && / machine: .* is not allowed in state /.test(error.message);
      failing.push(`${behaviour.name} (${refusal ? 'refused' : 'check failed'})`);
    }
  }
  return failing;
}

describe('the behaviours, on the machines as written', () => {
  for (const behaviour of BEHAVIOURS) it(behaviour.name, () => behaviour.run(MACHINE_TABLES));
});

// A mutant counts as caught only against behaviours that hold on the machines as written.
const BASELINE = failingBehaviours(MACHINE_TABLES);

it('builds one mutant per declared transition: 9 of the key machine, 21 of the pool machine', () => {
  expect(MUTANTS.filter((mutant) => mutant.label.startsWith('key:'))).toHaveLength(9);
  expect(MUTANTS.filter((mutant) => mutant.label.startsWith('pool:'))).toHaveLength(21);
  expect(new Set(MUTANTS.map((mutant) => mutant.label)).size).toBe(MUTANTS.length);
  for (const mutant of MUTANTS) {
    expect(mutant.cells, mutant.label).toBeGreaterThan(0);
    const removed = [...mutant.tables.key, ...mutant.tables.pool].filter((next) => next === NO_TRANSITION).length;
    const original = [...MACHINE_TABLES.key, ...MACHINE_TABLES.pool].filter((next) => next === NO_TRANSITION).length;
    expect(removed - original, mutant.label).toBe(mutant.cells);
  }
});

describe('taking one transition out of its table breaks some behaviour', () => {
  for (const mutant of MUTANTS) {
    it(mutant.label, () => {
      expect(BASELINE, 'behaviours failing on the machines as written').toEqual([]);
      expect(failingBehaviours(mutant.tables), `no behaviour needs ${mutant.label}`).not.toEqual([]);
    });
  }
});
