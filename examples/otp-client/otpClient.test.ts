// Property tests of the OTP client in otpClient.ts with kmesim/testing, as a project would write them: a
// mock KME pair in a small world (64-bit keys, pools of 64), reset for every run; messages that span key
// boundaries; the client's sealing and opening hooks reporting to the run's ledger; every run judged. The
// correct client passes; each planted bug fails, named by its client invariant, with a shrunk
// counterexample.
import { fc, messageArb, startClientHarness, type ClientHarness, type ClientRun } from 'kmesim/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOtpClient, type ClientBug } from './otpClient.js';

const KEY_BYTES = 8;
const MAX_KEYS_PER_REQUEST = 8;
let harness: ClientHarness;

beforeAll(async () => {
  harness = await startClientHarness({ kmes: 2, poolCapacity: 64, keySizeBits: KEY_BYTES * 8, maxKeysPerRequest: MAX_KEYS_PER_REQUEST });
});

afterAll(async () => {
  await harness.close();
});

function clientFor(run: ClientRun, bug?: ClientBug) {
  const urlOf = new Map(run.kmes.map((kme) => [kme.id, kme.url]));
  return createOtpClient({
    fetch: run.fetch,
    kmeOf: (sae) => urlOf.get(run.saes.find((entry) => entry.id === sae)?.kme ?? '') ?? '',
    keyBytes: KEY_BYTES,
    maxKeysPerRequest: MAX_KEYS_PER_REQUEST,
    ...(bug === undefined ? {} : { bug }),
    onSeal: (message, sender, keyIds) => run.ledger.sealed(message, sender, keyIds),
    onOpen: (message, reader, keyIds) => run.ledger.opened(message, reader, keyIds),
  });
}

/** Alice (SAE_A1, on KME_A) mails each message to Bob (SAE_B1, on KME_B), who opens it; then the run is judged. */
function mailProperty(bug?: ClientBug) {
  return fc.asyncProperty(fc.array(messageArb({ keyBytes: KEY_BYTES, maxKeys: 4 }), { minLength: 1, maxLength: 3 }), async (messages) => {
    const run = await harness.run();
    const client = clientFor(run, bug);
    await run.judged(async () => {
      for (const [i, message] of messages.entries()) {
        const envelope = await client.seal(`m${i + 1}`, 'SAE_A1', 'SAE_B1', message);
        // The client seals with the reference OTP: the kit opens the envelope with the KME's key bytes too.
        run.ledger.enveloped(`m${i + 1}`, message, envelope.ciphertext);
        expect(await client.open(envelope, 'SAE_B1')).toEqual(message);
      }
    });
  });
}

it('the correct client keeps every rule, and the KMEs every invariant', { timeout: 60_000 }, async () => {
  await fc.assert(mailProperty(), { numRuns: 40, seed: 7 });
});

// Each bug, the client invariant it breaks, and the message lengths fast-check shrinks it to: two one-byte
// messages for a reused key; a message one byte past one key (the smallest that needs two, so that order
// matters; fast-check leaves a one-byte message beside it); one one-byte message for the others.
const BUGS: ReadonlyArray<[ClientBug, string, number[]]> = [
  ['reuse', 'U1', [1, 1]],
  ['reverse', 'U2', [KEY_BYTES + 1, 1]],
  ['skip-dec', 'U4', [1]],
  ['no-consume', 'U5', [1]],
  // A message one byte past one key: under the stretch bug its ninth byte is padded with the first key's
  // first byte again (fast-check leaves the one-byte message beside it here too).
  ['stretch', 'U7', [KEY_BYTES + 1, 1]],
];

for (const [bug, invariant, shrunkTo] of BUGS) {
  it(`finds the ${bug} bug as ${invariant}, with a shrunk counterexample`, { timeout: 60_000 }, async () => {
    const result = await fc.check(mailProperty(bug), { numRuns: 100, seed: 7 });
    expect(result.failed).toBe(true);
    const message = String((result.errorInstance as Error | undefined)?.message ?? '');
    expect(message).toMatch(new RegExp(`^${invariant} `, 'm'));
    // fast-check shrank it to the smallest run that still shows the bug, and says how to replay it.
    const [messages] = result.counterexample as [Uint8Array[]];
    expect(messages.map((bytes) => bytes.length)).toEqual(shrunkTo);
    expect(result.numShrinks).toBeGreaterThan(0);
    expect(result.counterexamplePath).not.toBeNull();
  });
}
