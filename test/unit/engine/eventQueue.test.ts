// Checks the event queue both drivers run on against a reference model: for any interleaving of pushes
// and pops, including many events at the same instant, events come out ordered by (time, insertion
// order), and peek always shows what pop will return. fast-check generates the operations; the model is
// a plain array kept in that order.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { EventQueue } from '../../../src/engine/eventQueue.js';

type Operation = { readonly op: 'push'; readonly atMs: number } | { readonly op: 'pop' };

// Few distinct times, so equal deadlines are common.
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('push' as const), atMs: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pop' as const) }) },
);

it('pops every pushed event ordered by time, and by insertion order at equal times', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 200 }), (times) => {
      const queue = new EventQueue<number>();
      times.forEach((atMs, id) => queue.push(atMs, id));
      const popped: Array<{ atMs: number; event: number }> = [];
      for (let next = queue.pop(); next !== undefined; next = queue.pop()) popped.push(next);
      const expected = times.map((atMs, id) => ({ atMs, event: id })).sort((a, b) => a.atMs - b.atMs || a.event - b.event);
      expect(popped).toEqual(expected);
    }),
  );
});

it('agrees with a sorted-list model for any interleaving of pushes and pops, and peek agrees with pop', () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 300 }), (operations) => {
      const queue = new EventQueue<number>();
      const model: Array<{ atMs: number; event: number }> = [];
      let nextId = 0;
      for (const operation of operations) {
        if (operation.op === 'push') {
          const entry = { atMs: operation.atMs, event: nextId++ };
          queue.push(entry.atMs, entry.event);
          // Insert after every entry due at the same time or earlier: ties keep insertion order.
          const at = model.findIndex((other) => other.atMs > entry.atMs);
          model.splice(at === -1 ? model.length : at, 0, entry);
        } else {
          const peeked = queue.peek();
          const peekedTime = queue.peekTime();
          const popped = queue.pop();
          expect(peeked).toEqual(popped);
          expect(peekedTime).toBe(popped?.atMs);
          expect(popped).toEqual(model.shift());
        }
        expect(queue.size).toBe(model.length);
      }
    }),
  );
});

it('returns undefined from peek, peekTime and pop when empty', () => {
  const queue = new EventQueue<string>();
  expect(queue.peek()).toBeUndefined();
  expect(queue.peekTime()).toBeUndefined();
  expect(queue.pop()).toBeUndefined();
  queue.push(1, 'a');
  queue.pop();
  expect(queue.pop()).toBeUndefined();
  expect(queue.size).toBe(0);
});

it('refuses a time that is not a finite number', () => {
  const queue = new EventQueue<string>();
  expect(() => queue.push(Number.NaN, 'a')).toThrow(RangeError);
  expect(() => queue.push(Number.POSITIVE_INFINITY, 'a')).toThrow(RangeError);
  expect(queue.size).toBe(0);
});
