// A mistake in how the command was called: one line on stderr, exit code 2.
export class UsageError extends Error {}

export function parseInteger(name: string, value: string, min = 0): number {
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${name} must be an integer ≥ ${min}, got "${value}"`);
  }
  return Number(value);
}

export function parseShard(value: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || count < 1 || index < 1 || index > count) throw new UsageError(`--shard must be i/n with 1 ≤ i ≤ n, got "${value}"`);
  return { index, count };
}
