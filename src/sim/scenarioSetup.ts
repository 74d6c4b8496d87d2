// A scenario file as a server's setup: its users (drawn from the seed the server settles on) as SAEs, its
// pool sizes, key size and TTL on top of the profile asked for, its faults, sync latency and bug switches.
import { SERVER_KME_IDS, type ServerSetup, type SetupRequest, type SetupResolver } from '../engine/serverSetup.js';
import { loadScenarios, ScenarioError } from './loadScenario.js';
import { createRng } from './rng.js';
import { buildProfile } from './scenarioProfile.js';
import { createUsers } from './simUsers.js';

/** The setup resolver for the first scenario at `file`; the file is read when the server asks for it. */
export function createScenarioSetup(file: string): SetupResolver {
  return (request) => resolveScenarioSetup(file, request);
}

async function resolveScenarioSetup(file: string, request: SetupRequest): Promise<ServerSetup> {
  const [loaded] = await loadScenarios(file);
  if (loaded === undefined) throw new ScenarioError([{ file, line: null, column: null, field: '(file)', message: 'no scenario in it' }]);
  const { scenario } = loaded;
  const kmeIds = SERVER_KME_IDS.slice(0, request.kmes ?? scenario.world.kmes);
  const profile = buildProfile(scenario, request.profile ?? scenario.world.profile);
  const users = createUsers(scenario, createRng(`${scenario.name}:${request.seed}`).fork('users'));
  const saes = users.map((user) => ({ id: user.saeId, kmeId: kmeIds[user.kmeIndex % kmeIds.length] as string, name: user.displayName, email: user.email }));
  return { profile, kmeIds, saes, faults: scenario.faults, syncLatencyMs: scenario.world.sync.latency, bugs: scenario.bugs };
}
