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

/** A KME's ID: it names a link (`KME_A~KME_B`), so no `~`; at most 64 characters. */
const KME_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** An SAE's ID: it appears in URL paths and in a certificate's CN, and `@` joins it to its KME on the command line. */
export const SAE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:~-]{0,63}$/;
const SAE_ID = SAE_ID_PATTERN;

export interface TopologyRequest {
  readonly kmes?: 1 | 2;
  /** The KMEs' IDs, one or two (default KME_A, KME_B). */
  readonly kmeIds?: readonly string[];
  /** The SAEs and the KME each is attached to (default: two per KME, SAE_A1, SAE_A2, SAE_B1, SAE_B2). */
  readonly saes?: ReadonlyArray<{ readonly id: string; readonly kme: string }>;
}

/** The KMEs and SAEs of a server without a scenario, as asked; an Error says what is wrong with the request. */
export function resolveTopology(request: TopologyRequest): { kmeIds: string[]; saes: SaeSpec[] } {
  const kmeIds = request.kmeIds === undefined ? SERVER_KME_IDS.slice(0, request.kmes ?? 1) : [...request.kmeIds];
  if (kmeIds.length < 1 || kmeIds.length > 2) throw new Error(`a server runs 1 or 2 KMEs, got ${kmeIds.length} KME IDs`);
  if (request.kmes !== undefined && request.kmes !== kmeIds.length) throw new Error(`${request.kmes} KMEs asked for, but ${kmeIds.length} KME IDs given`);
  for (const id of kmeIds) {
    if (!KME_ID.test(id)) throw new Error(`KME ID ${JSON.stringify(id)}: use 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit`);
  }
  if (new Set(kmeIds).size !== kmeIds.length) throw new Error(`KME ID ${JSON.stringify(kmeIds[0])} is given twice`);
  if (request.saes === undefined) return { kmeIds, saes: kmeIds.flatMap((kmeId, k) => [1, 2].map((n) => ({ id: `SAE_${String.fromCharCode(65 + k)}${n}`, kmeId }))) };
  if (request.saes.length === 0) throw new Error('at least one SAE is needed');
  const seen = new Set<string>();
  const saes = request.saes.map(({ id, kme }) => {
    if (!SAE_ID.test(id)) throw new Error(`SAE ID ${JSON.stringify(id)}: use 1 to 64 letters, digits, '.', '_', ':', '~' or '-', starting with a letter or digit`);
    if (seen.has(id)) throw new Error(`SAE ${id} is given twice`);
    seen.add(id);
    if (!kmeIds.includes(kme)) throw new Error(`SAE ${id} is attached to ${JSON.stringify(kme)}, which this server does not run (its KMEs: ${kmeIds.join(', ')})`);
    return { id, kmeId: kme };
  });
  return { kmeIds, saes };
}

/** `SAE_1@KME_A` → { id: 'SAE_1', kme: 'KME_A' }: the command line's and the environment's form. */
export function parseSaeAt(text: string): { id: string; kme: string } {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) throw new Error(`--sae takes SAE_ID@KME_ID (e.g. SAE_1@KME_A), got ${JSON.stringify(text)}`);
  return { id: text.slice(0, at), kme: text.slice(at + 1) };
}
