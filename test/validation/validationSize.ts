// The validations run at CI size in `npm test` and at full size in `npm run validate`
// (KMESIM_VALIDATION=full): more seeds, longer runs, finer sweeps, tighter bounds where the size allows.
export const FULL_SIZE = process.env.KMESIM_VALIDATION === 'full';

/** The CI-size value, or the full-size one under `npm run validate`. */
export function bySize<T>(ci: T, full: T): T {
  return FULL_SIZE ? full : ci;
}
