/**
 * How hard the reliability suite pushes. `npm test` runs the CI slice; `npm run test:reliability`
 * sets KMESIM_RELIABILITY=full and runs the full sizes the issue asks for.
 */
export interface ReliabilityScale {
  readonly name: 'ci' | 'full';
  /** Fuzzed HTTP requests against one server. */
  readonly fuzzRequests: number;
  /** SIGKILL-and-restart cycles of `serve --db` under load. */
  readonly kills: number;
  /** Concurrent clients and operations per client across two KMEs. */
  readonly clients: number;
  readonly opsPerClient: number;
}

const FULL: ReliabilityScale = { name: 'full', fuzzRequests: 100_000, kills: 20, clients: 64, opsPerClient: 1_000 };
const CI: ReliabilityScale = { name: 'ci', fuzzRequests: 5_000, kills: 3, clients: 64, opsPerClient: 60 };

export function reliabilityScale(env: NodeJS.ProcessEnv = process.env): ReliabilityScale {
  return env['KMESIM_RELIABILITY'] === 'full' ? FULL : CI;
}
