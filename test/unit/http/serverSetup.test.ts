// startServer plays the setup its caller resolved: a fixed setup as given, or a resolver asked once the
// seed is settled, with the server's kmes and profile passed on. Servers listen on free ports.
import { afterEach, expect, it } from 'vitest';
import type { ServerSetup, SetupRequest } from '../../../src/engine/serverSetup.js';
import { startServer, ServerStartError, type RunningServer } from '../../../src/http/startServer.js';
import { resolveProfile } from '../../../src/model/profiles.js';

const running: RunningServer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

const FIXED: ServerSetup = {
  profile: resolveProfile('lenient'),
  kmeIds: ['KME_A'],
  saes: [
    { id: 'alice', kmeId: 'KME_A' },
    { id: 'bob', kmeId: 'KME_A' },
  ],
  faults: [],
  bugs: [],
};

it('serves the SAEs and profile of a fixed setup', async () => {
  const server = await startServer({ port: 0, seed: 3, setup: FIXED });
  running.push(server);
  expect(server.saes).toEqual([
    { id: 'alice', kme: 'KME_A' },
    { id: 'bob', kme: 'KME_A' },
  ]);
  expect(server.profile).toBe('lenient');
});

it('refuses kmes or profile beside a fixed setup, which names its own', async () => {
  await expect(startServer({ port: 0, setup: FIXED, kmes: 2 })).rejects.toThrow(ServerStartError);
  await expect(startServer({ port: 0, setup: FIXED, profile: 'strict' })).rejects.toThrow(/startServer: a setup names its own KMEs and profile/);
});

it('asks a resolver once, with the settled seed and the kmes and profile it was given', async () => {
  const requests: SetupRequest[] = [];
  const server = await startServer({
    port: 0,
    seed: 11,
    kmes: 2,
    profile: 'lenient',
    setup: (request) => {
      requests.push(request);
      return { ...FIXED, kmeIds: ['KME_A', 'KME_B'] };
    },
  });
  running.push(server);
  expect(requests).toEqual([{ seed: 11, kmes: 2, profile: 'lenient' }]);
  expect(server.kmes.map((kme) => kme.id)).toEqual(['KME_A', 'KME_B']);
});
