// The key-rate module against results nobody here derived: Ma, Qi, Zhao and Lo, "Practical decoy state for
// quantum key distribution" (PRA 72, 012326, 2005), for the GYS experiment's parameters. With infinitely
// many decoy states they find key out to about 142 km; the bound is a cutoff between 135 and 150 km,
// zero key beyond. Also their optimal signal intensity, μ ≈ 0.48 at short distance.
import { expect, it } from 'vitest';
import { bySize } from './validationSize.js';
import { binaryEntropy, decoyRatePerPulse, GYS_LINK, linkProblem, optimalMeanPhotonNumber, secretKeyRate } from '../../src/model/keyRate.js';

const at = (distanceKm: number) => ({ ...GYS_LINK, distanceKm });

/** The distance where the GYS rate reaches zero, to 0.01 km, by bisection. */
function cutoffKm(): number {
  let lo = 0;
  let hi = 300;
  while (hi - lo > 0.01) {
    const mid = (lo + hi) / 2;
    if (secretKeyRate(at(mid)) > 0) lo = mid;
    else hi = mid;
  }
  return lo;
}

it('binary entropy: 0 at the ends, 1 at one half, symmetric', () => {
  expect(binaryEntropy(0)).toBe(0);
  expect(binaryEntropy(1)).toBe(0);
  expect(binaryEntropy(0.5)).toBe(1);
  expect(binaryEntropy(0.11)).toBeCloseTo(0.4999, 3);
  expect(binaryEntropy(0.2)).toBeCloseTo(binaryEntropy(0.8), 12);
});

it('GYS: positive key out to a cutoff between 135 and 150 km (the paper: about 142 km), none beyond', () => {
  const cutoff = cutoffKm();
  expect(cutoff).toBeGreaterThan(135);
  expect(cutoff).toBeLessThan(150);
  expect(Math.abs(cutoff - 142)).toBeLessThan(1.5);
  expect(secretKeyRate(at(135))).toBeGreaterThan(0);
  for (const distanceKm of [150, 160, 200, 400]) expect(secretKeyRate(at(distanceKm))).toBe(0);
});

it('GYS: the rate is finite, never negative and never rises with distance, from 0 to 200 km (CI: every km; full: every 10 m)', () => {
  const step = bySize(1, 0.01);
  let previous = Infinity;
  for (let i = 0; i * step <= 200; i++) {
    const rate = secretKeyRate(at(i * step));
    expect(Number.isFinite(rate) && rate >= 0 && rate <= previous, `at ${i * step} km: ${rate} after ${previous}`).toBe(true);
    previous = rate;
  }
});

it('GYS: the rate falls with distance, by about the channel loss (0.21 dB/km) well inside the cutoff', () => {
  const rates = [0, 25, 50, 75, 100, 125, 140].map((distanceKm) => secretKeyRate(at(distanceKm)));
  for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeLessThan(rates[i - 1] as number);
  // Between 25 and 75 km the rate is linear in η (about ημ/2 per pulse): 50 km × 0.21 dB/km = 10.5 dB.
  const decibels = 10 * Math.log10((rates[1] as number) / (rates[3] as number));
  expect(decibels).toBeGreaterThan(10);
  expect(decibels).toBeLessThan(11.5);
});

it('GYS: the optimal signal intensity is about 0.48 at short distance and lower near the cutoff', () => {
  expect(optimalMeanPhotonNumber(at(0))).toBeCloseTo(0.48, 1);
  expect(optimalMeanPhotonNumber(at(140))).toBeLessThan(optimalMeanPhotonNumber(at(50)));
  // Any other intensity gives no more key.
  const best = decoyRatePerPulse(at(50), optimalMeanPhotonNumber(at(50)));
  for (const mu of [0.1, 0.3, 0.6, 1]) expect(decoyRatePerPulse(at(50), mu)).toBeLessThanOrEqual(best);
});

it('a given intensity is used as given, and bits per second scale with the pulse rate', () => {
  const fixed = { ...at(50), meanPhotonNumber: 0.3 };
  expect(secretKeyRate(fixed)).toBeCloseTo(decoyRatePerPulse(fixed, 0.3) * GYS_LINK.pulseRateHz, 9);
  expect(secretKeyRate({ ...fixed, pulseRateHz: 4e6 })).toBeCloseTo(2 * secretKeyRate(fixed), 9);
});

it('gives no key, never NaN, where nothing reaches Bob', () => {
  expect(secretKeyRate({ ...GYS_LINK, darkCountYield: 0, distanceKm: 800 })).toBe(0);
  expect(secretKeyRate({ ...GYS_LINK, distanceKm: 20, fibreLossDbPerKm: 10 })).toBe(0);
  expect(secretKeyRate({ ...GYS_LINK, distanceKm: 10_000 })).toBe(0);
});

it('refuses a link it cannot compute, saying which field', () => {
  expect(linkProblem(GYS_LINK)).toBeNull();
  expect(linkProblem({ ...GYS_LINK, detectorEfficiency: 0 })).toMatch(/detectorEfficiency/);
  expect(linkProblem({ ...GYS_LINK, distanceKm: -1 })).toMatch(/distanceKm/);
  expect(linkProblem({ ...GYS_LINK, errorCorrectionInefficiency: 0.9 })).toMatch(/errorCorrectionInefficiency/);
  expect(linkProblem({ ...GYS_LINK, pulseRateHz: Number.NaN })).toMatch(/pulseRateHz/);
});
