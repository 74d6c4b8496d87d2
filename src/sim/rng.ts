// The seeded random tree. Entropy enters once, as the run's seed; every subsystem draws from its own
// sub-stream (`rng.fork('faults')`), so adding draws in one place never shifts another's numbers.
import seedrandom from 'seedrandom';

export interface Rng {
  readonly path: string;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** True with probability numerator/denominator (integer ratios keep runs exact). */
  chance(numerator: number, denominator: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** An exponentially distributed wait with the given mean, for Poisson arrivals, in whole units (at least 1). */
  exponential(mean: number): number;
  fork(label: string): Rng;
}

export function createRng(seed: string | number): Rng {
  return createNode(String(seed));
}

function createNode(path: string): Rng {
  const source = seedrandom(path);
  const next = (): number => source.quick();
  return {
    path,
    next,
    int(min, max) {
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) {
        throw new RangeError(`rng.int: bad range [${min}, ${max}]`);
      }
      return min + Math.floor(next() * (max - min + 1));
    },
    chance(numerator, denominator) {
      return next() * denominator < numerator;
    },
    pick(items) {
      if (items.length === 0) throw new RangeError('rng.pick: no items');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    exponential(mean) {
      return Math.max(1, Math.round(-mean * Math.log(1 - next())));
    },
    fork(label) {
      // A slash would let fork('a/b') and fork('a').fork('b') share a stream.
      if (label.length === 0 || label.includes('/')) throw new RangeError(`rng.fork: a label is non-empty and has no "/", got "${label}"`);
      return createNode(`${path}/${label}`);
    },
  };
}
