// The secret key rate of a QKD link from its physical description: the asymptotic decoy-state BB84 rate
// (infinitely many decoy states), as derived by
//   H.-K. Lo, X. Ma and K. Chen, "Decoy state quantum key distribution", PRL 94, 230504 (2005), and
//   X. Ma, B. Qi, Y. Zhao and H.-K. Lo, "Practical decoy state for quantum key distribution",
//   PRA 72, 012326 (2005), equations (1)–(9),
// on the GLLP bound (D. Gottesman, H.-K. Lo, N. Lütkenhaus and J. Preskill, QIC 4, 325 (2004)):
//
//   R = q · { −Q_μ · f(E_μ) · H₂(E_μ) + Q₁ · [1 − H₂(e₁)] }   secret bits per pulse, q = 1/2 (BB84 sifting)
//   η   = η_Bob · 10^(−α·L/10)                                  channel and detector transmittance
//   Y₁  = 1 − (1 − Y₀)(1 − η)                                   yield of single-photon pulses
//   Q_μ = 1 − (1 − Y₀)·e^(−ημ)                                  gain of the signal state
//   E_μ = (e₀Y₀ + e_det·(1 − e^(−ημ))) / Q_μ                    its quantum bit error rate, e₀ = 1/2
//   Q₁  = Y₁·μ·e^(−μ),  e₁ = (e₀Y₀ + e_det·η) / Y₁              single-photon gain and error rate
//
// A negative R means no secret key: the rate is then 0. Pure and deterministic: the same link gives the
// same rate, bit for bit.

export interface QkdLinkDescription {
  readonly distanceKm: number;
  /** Fibre loss α in dB/km (0.21 at 1550 nm in the GYS experiment; 0.2 for modern fibre). */
  readonly fibreLossDbPerKm: number;
  /** Bob's detection efficiency η_Bob, including his optics, in (0, 1]. */
  readonly detectorEfficiency: number;
  /** Dark-count yield Y₀ per pulse. */
  readonly darkCountYield: number;
  /** Probability that a photon hits the wrong detector, e_detector. */
  readonly detectorErrorRate: number;
  /** Error-correction inefficiency f(E) ≥ 1 (1.22 in the GYS analysis). */
  readonly errorCorrectionInefficiency: number;
  /** Pulses per second. */
  readonly pulseRateHz: number;
  /** Mean photon number μ of the signal state; absent: the one that maximises the rate. */
  readonly meanPhotonNumber?: number;
}

/**
 * The GYS experiment (C. Gobby, Z. Yuan and A. Shields, APL 84, 3762 (2004)) as Ma, Qi, Zhao and Lo model
 * it: 1550 nm, α = 0.21 dB/km, e_detector = 3.3 %, Y₀ = 1.7 × 10⁻⁶, η_Bob = 4.5 %, f = 1.22, 2 MHz.
 */
export const GYS_LINK: QkdLinkDescription = {
  distanceKm: 0,
  fibreLossDbPerKm: 0.21,
  detectorEfficiency: 0.045,
  darkCountYield: 1.7e-6,
  detectorErrorRate: 0.033,
  errorCorrectionInefficiency: 1.22,
  pulseRateHz: 2e6,
};

/** Binary entropy H₂(x) in bits; 0 at 0 and 1. */
export function binaryEntropy(x: number): number {
  if (x <= 0 || x >= 1) return 0;
  return -x * Math.log2(x) - (1 - x) * Math.log2(1 - x);
}

/** The asymptotic decoy-state rate in secret bits per pulse at mean photon number μ (negative: no key). */
export function decoyRatePerPulse(link: QkdLinkDescription, mu: number): number {
  const eta = link.detectorEfficiency * 10 ** ((-link.fibreLossDbPerKm * link.distanceKm) / 10);
  const y0 = link.darkCountYield;
  const y1 = 1 - (1 - y0) * (1 - eta);
  const gain = 1 - (1 - y0) * Math.exp(-eta * mu);
  // Nothing reaches Bob (no dark counts, a channel too lossy to tell from zero): no key.
  if (!(y1 > 0 && gain > 0)) return 0;
  const qber = (0.5 * y0 + link.detectorErrorRate * (1 - Math.exp(-eta * mu))) / gain;
  const e1 = (0.5 * y0 + link.detectorErrorRate * eta) / y1;
  const q1 = y1 * mu * Math.exp(-mu);
  return 0.5 * (-gain * link.errorCorrectionInefficiency * binaryEntropy(qber) + q1 * (1 - binaryEntropy(e1)));
}

const MU_MIN = 0.001;
const MU_MAX = 1.5;
const MU_STEPS = 1_500;

/** The mean photon number that maximises the rate: a grid of 1,500 steps, then golden-section refinement. */
export function optimalMeanPhotonNumber(link: QkdLinkDescription): number {
  const step = (MU_MAX - MU_MIN) / MU_STEPS;
  let best = MU_MIN;
  let bestRate = -Infinity;
  for (let i = 0; i <= MU_STEPS; i++) {
    const mu = MU_MIN + i * step;
    const rate = decoyRatePerPulse(link, mu);
    if (rate > bestRate) {
      bestRate = rate;
      best = mu;
    }
  }
  let lo = Math.max(MU_MIN, best - step);
  let hi = Math.min(MU_MAX, best + step);
  const ratio = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 40; i++) {
    const a = hi - ratio * (hi - lo);
    const b = lo + ratio * (hi - lo);
    if (decoyRatePerPulse(link, a) >= decoyRatePerPulse(link, b)) hi = b;
    else lo = a;
  }
  return (lo + hi) / 2;
}

/** Secret bits per second the link delivers: the rate per pulse at its (or the optimal) μ, times the pulse rate; 0 when none. */
export function secretKeyRate(link: QkdLinkDescription): number {
  const mu = link.meanPhotonNumber ?? optimalMeanPhotonNumber(link);
  return Math.max(0, decoyRatePerPulse(link, mu)) * link.pulseRateHz;
}

/** Why a link description cannot be used, or null. */
export function linkProblem(link: QkdLinkDescription): string | null {
  const inRange = (value: number, lo: number, hi: number): boolean => Number.isFinite(value) && value >= lo && value <= hi;
  if (!inRange(link.distanceKm, 0, 10_000)) return 'distanceKm must be from 0 to 10000';
  if (!inRange(link.fibreLossDbPerKm, 0, 10)) return 'fibreLossDbPerKm must be from 0 to 10';
  if (!inRange(link.detectorEfficiency, Number.MIN_VALUE, 1)) return 'detectorEfficiency must be in (0, 1]';
  if (!inRange(link.darkCountYield, 0, 1)) return 'darkCountYield must be in [0, 1]';
  if (!inRange(link.detectorErrorRate, 0, 0.5)) return 'detectorErrorRate must be in [0, 0.5]';
  if (!inRange(link.errorCorrectionInefficiency, 1, 10)) return 'errorCorrectionInefficiency must be from 1 to 10';
  if (!inRange(link.pulseRateHz, Number.MIN_VALUE, 1e12)) return 'pulseRateHz must be positive (at most 1e12)';
  if (link.meanPhotonNumber !== undefined && !inRange(link.meanPhotonNumber, Number.MIN_VALUE, 10)) return 'meanPhotonNumber must be in (0, 10]';
  return null;
}
