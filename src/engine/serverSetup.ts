// What a server plays: its profile, its KMEs and SAEs, the faults on its clock, the sync latency and the
// bug switches. The default world and a scenario's world both resolve to this, so the server itself never
// reads a scenario file.
import type { BugName } from '../model/bugs.js';
import type { Profile, ProfileName } from '../model/profiles.js';
import type { Fault } from './faults.js';

/** The KME IDs a server gives its first and second KME. */
export const SERVER_KME_IDS = ['KME_A', 'KME_B'] as const;

export interface SaeSpec {
  readonly id: string;
  readonly kmeId: string;
  readonly name?: string;
  readonly email?: string;
}

export interface ServerSetup {
  readonly profile: Profile;
  readonly kmeIds: readonly string[];
  readonly saes: readonly SaeSpec[];
  readonly faults: readonly Fault[];
  /** The setup's own sync latency; the server's option of that name takes precedence. */
  readonly syncLatencyMs?: number;
  /** The setup's own bug switches, added to those the server is started with. */
  readonly bugs: readonly BugName[];
}

/**
 * What a server knows when it asks for its setup: the seed (given, remembered by its database, or chosen
 * at random) and the KME count and profile it was asked for, if any.
 */
export interface SetupRequest {
  readonly seed: number;
  readonly kmes?: 1 | 2;
  readonly profile?: ProfileName;
}

export type SetupResolver = (request: SetupRequest) => ServerSetup | Promise<ServerSetup>;
