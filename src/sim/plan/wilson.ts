// The Wilson score interval for a binomial proportion (E. B. Wilson, "Probable inference, the law of
// succession, and statistical inference", JASA 22 (1927) 209–212): unlike the normal approximation it
// stays inside [0, 1] and is usable when the count is 0, which is the common case for rare delays.
//
//   centre = (p̂ + z²/2n) / (1 + z²/n),  half-width = z·√(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n)

/** Two-sided standard normal quantiles for the confidences a plan may ask for. */
const Z: ReadonlyMap<number, number> = new Map([
  [0.9, 1.6448536269514722],
  [0.95, 1.959963984540054],
  [0.99, 2.5758293035489004],
]);

export interface Interval {
  readonly low: number;
  readonly high: number;
}

export function wilsonInterval(successes: number, trials: number, confidence: number): Interval {
  const z = Z.get(confidence);
  if (z === undefined) throw new RangeError(`wilsonInterval: no quantile for confidence ${confidence}`);
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || trials < successes) {
    throw new RangeError(`wilsonInterval: ${successes} of ${trials} is no binomial count`);
  }
  if (trials === 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  // At the ends the bound is exact (rounding would leave 3e-16 where 0 is meant).
  return { low: successes === 0 ? 0 : Math.max(0, centre - half), high: successes === trials ? 1 : Math.min(1, centre + half) };
}
