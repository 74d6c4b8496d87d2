// Model-based properties of the OTP client in otpClient.ts with kmesim/testing's command set: two senders on
// KME_A mail two readers on KME_B, alone or several at once for one reader's pool (the order of their
// requests chosen by fast-check's scheduler), readers open in any order, the clock moves on and the KMEs
// restart or refuse a request. The correct client passes; each planted bug fails by its client invariant,
// with a shrunk command sequence.
import { clientCommands, fc, runClientCommands, startClientHarness, type ClientHarness, type ClientRun, type FaultInput } from 'kmesim/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOtpClient, type ClientBug, type Envelope } from './otpClient.js';

const KEY_BYTES = 8;
const MAX_KEYS_PER_REQUEST = 4;
let harness: ClientHarness;

beforeAll(async () => {
  harness = await startClientHarness({ kmes: 2, poolCapacity: 16, keySizeBits: KEY_BYTES * 8, maxKeysPerRequest: MAX_KEYS_PER_REQUEST });
});

afterAll(async () => {
  await harness.close();
});

const FAULTS: FaultInput[] = [
  { type: 'kme-restart', kme: 'KME_B', downtime: '1s' },
  { type: 'fail-next', count: 1, status: 503, route: 'dec_keys' },
  { type: 'fail-next', count: 1, status: 503, route: 'enc_keys' },
];

const commands = clientCommands<Envelope>({
  senders: ['SAE_A1', 'SAE_A2'],
  readers: ['SAE_B1', 'SAE_B2'],
  keyBytes: KEY_BYTES,
  maxKeys: 3,
  faults: FAULTS,
});

function consumerOf(run: ClientRun, bug?: ClientBug) {
  const urlOf = new Map(run.kmes.map((kme) => [kme.id, kme.url]));
  return (fetch: typeof globalThis.fetch) => ({
    ...createOtpClient({
      fetch,
      kmeOf: (sae) => urlOf.get(run.saes.find((entry) => entry.id === sae)?.kme ?? '') ?? '',
      keyBytes: KEY_BYTES,
      maxKeysPerRequest: MAX_KEYS_PER_REQUEST,
      ...(bug === undefined ? {} : { bug }),
      onSeal: (message, sender, keyIds) => run.ledger.sealed(message, sender, keyIds),
      onOpen: (message, reader, keyIds) => run.ledger.opened(message, reader, keyIds),
    }),
    // It seals with the reference OTP: U7 opens each envelope with the KME's key bytes.
    ciphertextOf: (envelope: Envelope) => envelope.ciphertext,
  });
}

function commandProperty(bug?: ClientBug) {
  return fc.asyncProperty(fc.scheduler(), commands, async (scheduler, cmds) => {
    const run = await harness.run();
    await runClientCommands(run, consumerOf(run, bug), cmds, { scheduler });
  });
}

it('the correct client keeps every rule through races, restarts, refusals and time', { timeout: 120_000 }, async () => {
  await fc.assert(commandProperty(), { numRuns: 60, seed: 11 });
});

const BUGS: ReadonlyArray<[ClientBug, string]> = [
  ['reuse', 'U1'],
  ['reverse', 'U2'],
  ['skip-dec', 'U4'],
  ['no-consume', 'U5'],
  ['stretch', 'U7'],
];

for (const [bug, invariant] of BUGS) {
  it(`finds the ${bug} bug as ${invariant} from commands, shrunk`, { timeout: 120_000 }, async () => {
    const result = await fc.check(commandProperty(bug), { numRuns: 200, seed: 11 });
    expect(result.failed).toBe(true);
    expect(String((result.errorInstance as Error | undefined)?.message ?? '')).toMatch(new RegExp(`^${invariant} `, 'm'));
    expect(result.numShrinks).toBeGreaterThan(0);
    // Shrunk from up to twelve commands to a few, with the path that replays them.
    const shrunk = [...((result.counterexample?.[1] ?? []) as Iterable<unknown>)];
    expect(shrunk.length).toBeGreaterThan(0);
    expect(shrunk.length).toBeLessThanOrEqual(3);
    expect(result.counterexamplePath).not.toBeNull();
  });
}
