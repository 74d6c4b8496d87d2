// Checks the seeded random tree that every run's entropy flows through: a seed fixes every sequence, a
// fork's stream depends only on its path (never on how much the parent or a sibling drew), and the
// helpers stay within their contracts. Sequences are compared draw by draw; ranges are fast-check
// properties; the ratio helper is judged by its frequency over many draws.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { createRng, type Rng } from '../../../src/sim/rng.js';

function draw(rng: Rng, count: number): number[] {
  return Array.from({ length: count }, () => rng.next());
}

function drawMixed(rng: Rng): unknown[] {
  return [rng.next(), rng.int(-5, 5), rng.chance(1, 3), rng.pick(['a', 'b', 'c']), rng.exponential(1_000), rng.next()];
}

it('gives the same sequence for the same seed', () => {
  expect(draw(createRng(42), 200)).toEqual(draw(createRng(42), 200));
  expect(Array.from({ length: 50 }, () => drawMixed(createRng('run:7')))).toEqual(Array.from({ length: 50 }, () => drawMixed(createRng('run:7'))));
});

it('treats a numeric seed and its decimal text as the same seed', () => {
  expect(draw(createRng(1234), 20)).toEqual(draw(createRng('1234'), 20));
});

it('gives different sequences for different seeds', () => {
  expect(draw(createRng(1), 20)).not.toEqual(draw(createRng(2), 20));
});

it('keeps a fork stream independent of how much the parent drew before forking', () => {
  const fresh = createRng(9).fork('faults');
  const busyParent = createRng(9);
  draw(busyParent, 1_000);
  expect(draw(busyParent.fork('faults'), 100)).toEqual(draw(fresh, 100));
});

it('keeps a fork stream independent of how much a sibling fork drew', () => {
  const alone = createRng(9).fork('mail');
  const parent = createRng(9);
  const sibling = parent.fork('users');
  const mail = parent.fork('mail');
  draw(sibling, 1_000);
  const interleaved: number[] = [];
  for (let i = 0; i < 100; i++) {
    interleaved.push(mail.next());
    sibling.next();
  }
  expect(interleaved).toEqual(draw(alone, 100));
});

it('leaves the parent stream unchanged when it forks and the forks draw', () => {
  const plain = createRng(5);
  const forking = createRng(5);
  const mixed: number[] = [];
  for (let i = 0; i < 50; i++) {
    draw(forking.fork(`child-${i}`), 10);
    mixed.push(forking.next());
  }
  expect(mixed).toEqual(draw(plain, 50));
});

it('gives forks with different labels, and nested forks, their own streams', () => {
  const root = createRng(3);
  const streams = [draw(root.fork('a'), 10), draw(root.fork('b'), 10), draw(root.fork('a').fork('a'), 10), draw(root, 10)];
  expect(new Set(streams.map((stream) => stream.join(','))).size).toBe(streams.length);
});

it('names a fork by its path from the seed', () => {
  expect(createRng('scenario:1').fork('users').fork('names').path).toBe('scenario:1/users/names');
});

it('keeps int() within [min, max] and integral for any range', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), fc.nat({ max: 1_000_000_000 }), (seed, min, span) => {
      const rng = createRng(seed);
      for (let i = 0; i < 50; i++) {
        const value = rng.int(min, min + span);
        if (!Number.isInteger(value) || value < min || value > min + span) return false;
      }
      return true;
    }),
  );
});

it('reaches both ends of a small int() range', () => {
  const rng = createRng(11);
  const seen = new Set(Array.from({ length: 1_000 }, () => rng.int(0, 3)));
  expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  expect(rng.int(7, 7)).toBe(7);
});

it('refuses an empty or non-integer int() range', () => {
  const rng = createRng(1);
  expect(() => rng.int(5, 4)).toThrow(RangeError);
  expect(() => rng.int(0, 1.5)).toThrow(RangeError);
  expect(() => rng.int(Number.NaN, 3)).toThrow(RangeError);
});

it('makes chance(n, d) come true with a frequency close to n/d over 20,000 draws', () => {
  const draws = 20_000;
  for (const [numerator, denominator] of [[1, 3], [1, 10], [7, 8]] as const) {
    const rng = createRng(`chance-${numerator}-${denominator}`);
    let hits = 0;
    for (let i = 0; i < draws; i++) if (rng.chance(numerator, denominator)) hits += 1;
    // One standard deviation is below 0.004 here; 0.02 leaves no room for flakiness yet catches a skew.
    expect(Math.abs(hits / draws - numerator / denominator)).toBeLessThan(0.02);
  }
});

it('makes chance(0, d) never and chance(d, d) always come true', () => {
  const rng = createRng(2);
  for (let i = 0; i < 1_000; i++) {
    expect(rng.chance(0, 5)).toBe(false);
    expect(rng.chance(5, 5)).toBe(true);
  }
});

it('picks only listed items and refuses an empty list', () => {
  const rng = createRng(4);
  const items = ['x', 'y', 'z'] as const;
  for (let i = 0; i < 300; i++) expect(items).toContain(rng.pick(items));
  expect(() => rng.pick([])).toThrow(RangeError);
});

it('draws exponential waits as whole units of at least 1 with roughly the given mean', () => {
  const rng = createRng(8);
  const waits = Array.from({ length: 20_000 }, () => rng.exponential(1_000));
  expect(waits.every((wait) => Number.isInteger(wait) && wait >= 1)).toBe(true);
  const mean = waits.reduce((a, b) => a + b, 0) / waits.length;
  expect(mean).toBeGreaterThan(950);
  expect(mean).toBeLessThan(1_050);
});

it('refuses fork labels that could alias another path of the tree', () => {
  const rng = createRng('seed');
  expect(() => rng.fork('a/b')).toThrow(RangeError);
  expect(() => rng.fork('')).toThrow(RangeError);
});
